// Subscribes to a twingraph GraphQL endpoint with the graphql-ws reference
// client (graphql-transport-ws protocol) and prints, one JSON line each:
// {"connected":true} once the server acknowledged the connection, then every
// result the subscription delivers ({"data":...} or {"errors":...}).
//
// Usage: node subscribe.mjs WS_URL QUERY [VARIABLES_JSON]
//
// Closing standard input disconnects and exits 0, as a client going away
// would; a connection or subscription error exits 1 with it on stderr.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, query, variables] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node subscribe.mjs WS_URL QUERY [VARIABLES_JSON]');
  process.exit(2);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  // A test wants to see a broken server, not a client quietly retrying.
  retryAttempts: 0,
  on: {
    connected: () => console.log(JSON.stringify({ connected: true })),
  },
});

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (result) => console.log(JSON.stringify(result)),
    error: (err) => {
      console.error('subscription error:', err instanceof Error ? err.message : JSON.stringify(err));
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);

process.stdin.resume();
process.stdin.on('end', async () => {
  await client.dispose();
  process.exit(0);
});
