// The GraphiQL page of the twingraph gateway. Everything it needs is bundled
// from npm into dist/ and embedded in the Go binary: the page must work on a
// plant network without internet access, so nothing is loaded from a CDN.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';
import { defaultTabs, line3State } from './queries.js';

// Monaco runs its language services in web workers. They are bundled as
// separate files by build.mjs (which substitutes these names) and resolved
// against the page's own URL, so the gateway can sit under any path prefix.
const workerURLs = {
  editor: __EDITOR_WORKER__,
  json: __JSON_WORKER__,
  graphql: __GRAPHQL_WORKER__,
};
globalThis.MonacoEnvironment = {
  getWorker(_id, label) {
    const name = label === 'json' || label === 'graphql' ? label : 'editor';
    return new Worker(new URL(workerURLs[name], document.baseURI));
  },
};

// The GraphQL endpoint lives next to the page; subscriptions use the same
// host over WebSocket (wss when the page itself came over https).
const httpURL = new URL('graphql', document.baseURI);
const wsURL = new URL(httpURL);
wsURL.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = createGraphiQLFetcher({
  url: httpURL.pathname,
  subscriptionUrl: wsURL.href,
});

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL fetcher={fetcher} defaultQuery={line3State} defaultTabs={defaultTabs} />,
);
