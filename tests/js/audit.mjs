// The GraphQL-over-HTTP audit of graphql-http against a live server: one JSON line per audit.
// Usage: node audit.mjs <url>
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
const results = await auditServer({ url });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.response = await result.response.text().catch(() => null);
    line.responseStatus = result.response.status;
    line.contentType = result.response.headers.get('content-type');
  }
  console.log(JSON.stringify(line));
}
