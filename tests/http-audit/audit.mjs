// Runs the graphql-http server audit (GraphQL-over-HTTP spec) against the URL
// given as the first argument. Prints every result; exits 1 if any MUST audit
// failed (status "error"), 0 otherwise. SHOULD/MAY misses are "warn".
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
let warned = 0;
for (const result of results) {
  if (result.status === 'error') failed += 1;
  if (result.status === 'warn') warned += 1;
  const detail = result.status === 'ok' ? '' : ` -- ${result.reason}`;
  console.log(`${result.status.toUpperCase().padEnd(5)} ${result.id} ${result.name}${detail}`);
}
console.log(`audit: ${results.length} audits, ${failed} MUST failures, ${warned} warnings`);
process.exit(failed > 0 ? 1 : 0);
