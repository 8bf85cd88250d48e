// One GraphQL subscription through graphql-ws, the client Apollo, Relay, urql and GraphiQL use.
//
//   node subscribe.mjs <ws-url> <query> <variables-json> [token]
//
// Prints one JSON line per event: {"type":"next","payload":...} for each result,
// then {"type":"complete"} or {"type":"error","error":...}. Exits 0 on complete, 1 on error.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, query, variables, token] = process.argv.slice(2);

function print(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function describe(error) {
  if (Array.isArray(error)) return { errors: error };
  if (error && typeof error.code === "number") return { closeCode: error.code, reason: error.reason };
  return { message: String(error && error.message ? error.message : error) };
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  // Browsers cannot set headers on a websocket: the token goes in connection_init.
  connectionParams: token ? { Authorization: `Bearer ${token}` } : undefined,
  retryAttempts: 0,
});

let failed = false;
await new Promise((resolve) => {
  client.subscribe(
    { query, variables: JSON.parse(variables) },
    {
      next: (payload) => print({ type: "next", payload }),
      error: (error) => {
        failed = true;
        print({ type: "error", error: describe(error) });
        resolve();
      },
      complete: () => {
        print({ type: "complete" });
        resolve();
      },
    },
  );
});
await client.dispose();
process.exit(failed ? 1 : 0);
