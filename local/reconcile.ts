/**
 * `npm run -s reconcile -- --org <orgId> --app <appId> [--dry-run]`
 * Recomputes the app's counters from its items, prints the drift as JSON, and repairs it
 * (unless --dry-run). Uses the running `npm start` (its endpoints under DATA_DIR) unless
 * DYNAMODB_ENDPOINT is set.
 */
import { parseArgs } from 'node:util';
import { localEnvironment } from './settings.js';

const { values } = parseArgs({ options: { org: { type: 'string' }, app: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } } });
if (!values.org || !values.app) {
  console.error('usage: npm run -s reconcile -- --org <orgId> --app <appId> [--dry-run]');
  process.exit(2);
}
Object.assign(process.env, localEnvironment());
const { reconcile } = await import('../shared/domain/reconcile.js');
const report = await reconcile(values.org, values.app, { repair: !values['dry-run'] });
if (!report) {
  console.error(`No app ${values.app} in org ${values.org}`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
