// The pages' only way to the twin: the gateway's public GraphQL API, at
// "graphql" next to the page (HTTP for queries, graphql-ws for live data).
import { createClient } from 'graphql-ws';

const httpURL = new URL('graphql', document.baseURI);
const wsURL = new URL(httpURL);
wsURL.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';

// GraphQLError carries the response's errors (each with extensions.code) and
// whatever data came with them.
export class GraphQLError extends Error {
  constructor(errors, data) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
    this.data = data;
  }
  // code is the first error's stable extensions.code (NOT_FOUND, BAD_INPUT ...).
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}

// query posts a GraphQL document and returns its data; any error throws a
// GraphQLError.
export async function query(document, variables = {}) {
  const res = await fetch(httpURL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: document, variables }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`gateway answered ${res.status}`);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors, body.data);
  return body.data;
}

// queryAll pages through a connection: select(data) returns the connection
// of one page; the document takes $after. It returns every node.
export async function queryAll(document, variables, select) {
  const nodes = [];
  let after = null;
  for (;;) {
    const conn = select(await query(document, { ...variables, after }));
    nodes.push(...conn.edges.map((e) => e.node));
    if (!conn.pageInfo.hasNextPage) return nodes;
    after = conn.pageInfo.endCursor;
  }
}

let client;
function wsClient(onStatus) {
  // One connection per page. No automatic retries: live() re-subscribes by
  // itself so that it can resume from the newest cursor it has seen rather
  // than from the one it first subscribed with.
  client ??= createClient({
    url: wsURL.href,
    lazy: true,
    retryAttempts: 0,
    keepAlive: 10_000,
    on: {
      connected: () => statusListeners.forEach((f) => f('live')),
      closed: () => statusListeners.forEach((f) => f('reconnecting')),
    },
  });
  if (onStatus) statusListeners.add(onStatus);
  return client;
}
const statusListeners = new Set();

// live runs a subscription for as long as the page lives. cursorOf(data)
// returns the resume cursor of a delivered item; after a dropped connection
// it subscribes again with variables.after set to the last one, so the
// server replays what happened in between: no gap, no duplicate. onStatus
// hears 'live' and 'reconnecting'. It returns a function that stops it.
export function live({ document, variables = {}, cursorOf, onData, onStatus, onError }) {
  const c = wsClient(onStatus);
  let after = variables.after ?? null;
  let stopped = false;
  let unsubscribe = () => {};
  let delay = 250;
  const start = () => {
    if (stopped) return;
    unsubscribe = c.subscribe({ query: document, variables: { ...variables, after } }, {
      next: (msg) => {
        if (msg.errors?.length) {
          onError?.(new GraphQLError(msg.errors, msg.data));
          return;
        }
        delay = 250;
        const cur = cursorOf?.(msg.data);
        if (cur) after = cur;
        onData(msg.data);
      },
      error: () => retry(),
      complete: () => retry(),
    });
  };
  const retry = () => {
    if (stopped) return;
    onStatus?.('reconnecting');
    setTimeout(start, delay);
    delay = Math.min(delay * 2, 5000);
  };
  start();
  return () => {
    stopped = true;
    unsubscribe();
  };
}
