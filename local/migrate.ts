/**
 * `npm run -s migrate [-- --pages <n>]`
 * Runs the backfills an existing table needs after an upgrade (see docs/operations.md): listing
 * tokens registered before the app token index (gsi6) existed, and moving user rows to the
 * epoch-keyed active-user lists and user's-apps links, copying apps' scopes onto their shards, and giving tokens registered before grants
 * their grants. Resumable and idempotent: stop it at any
 * time and run it again. Prints a JSON report per backfill.
 * Locally it uses the running `npm start` (its endpoints under DATA_DIR); with TABLE_NAME set it
 * uses that table and the environment's AWS region and credentials (DYNAMODB_ENDPOINT if set).
 */
import { parseArgs } from 'node:util';
import { localEnvironment } from './settings.js';

const { values } = parseArgs({ options: { pages: { type: 'string' } } });
const pagesPerSegment = values.pages === undefined ? undefined : Number(values.pages);
if (pagesPerSegment !== undefined && !(Number.isInteger(pagesPerSegment) && pagesPerSegment > 0)) {
  console.error('usage: npm run -s migrate [-- --pages <pages per Scan segment, then stop>]');
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!process.env.TABLE_NAME) Object.assign(process.env, localEnvironment());
const { migrationsWith } = await import('../shared/db/migrations.js');
const { adoptScanned } = await import('../shared/domain/grants.js');
for (const migration of migrationsWith(adoptScanned)) {
  const report = await migration({ pagesPerSegment });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!report.complete) {
    console.error('Stopped before the end of the table: run it again to resume.');
    break;
  }
}
