// One subscription through the GraphiQL page this server serves, as a browser runs it minus
// the drawing: every <script src> of the page (the shipped GraphiQL, React, ... bundles), then
// its inline script, whose `fetcher` is then called the way GraphiQL calls it when the Run
// button is pressed: with the Headers tab's JSON as `headers`.
//
//   node graphiql-subscribe.mjs <page-url> <query> <variables-json> <headers-json>
//
// Prints the same JSON lines as subscribe.mjs.
import vm from "node:vm";
import { parse } from "graphql";
import WebSocket from "ws";

const [pageUrl, query, variables, headers] = process.argv.slice(2);

function print(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

// Just enough of a browser for the bundles to load and the page's script to run.
Object.assign(globalThis, {
  self: globalThis,
  window: globalThis,
  location: new URL(pageUrl),
  navigator: { userAgent: "node", platform: "node" },
  WebSocket,
  CloseEvent: class CloseEvent {},
  document: {
    getElementById: () => ({}),
    querySelector: () => null,
    createElement: () => ({ style: {}, setAttribute() {}, appendChild() {} }),
    addEventListener() {},
    documentElement: { style: {} },
    head: { appendChild() {} },
  },
});

const page = await (await fetch(pageUrl, { headers: { accept: "text/html" } })).text();
for (const [, src] of page.matchAll(/<script src="([^"]+)"><\/script>/g)) {
  const code = await (await fetch(new URL(src, pageUrl))).text();
  vm.runInThisContext(code, { filename: src });
}
globalThis.ReactDOM.render = () => {}; // no drawing: only the fetcher is wanted
const inline = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
vm.runInThisContext(inline.join("\n"), { filename: "graphiql.html" });
const fetcher = vm.runInThisContext("fetcher");

try {
  const result = await fetcher(
    { query, variables: JSON.parse(variables) },
    { headers: JSON.parse(headers), documentAST: parse(query) },
  );
  if (result && typeof result[Symbol.asyncIterator] === "function") {
    for await (const payload of result) print({ type: "next", payload });
  } else {
    print({ type: "next", payload: result });
  }
  print({ type: "complete" });
  process.exit(0);
} catch (error) {
  const closed = error && typeof error.code === "number";
  print({
    type: "error",
    error: closed ? { closeCode: error.code, reason: error.reason } : { message: String(error) },
  });
  process.exit(1);
}
