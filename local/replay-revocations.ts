/**
 * `npm run -s replay-revocations -- --since <restore point> <file or folder>...`
 * Re-applies the revocation log (the Firehose objects the stack writes to its log bucket, as
 * downloaded by `aws s3 sync`: one stream record a line, gzipped or not) to the table, for every
 * change since the restore point (a minute earlier, to be safe: the replay is idempotent). Prints
 * a JSON report. Deployed: run with TABLE_NAME, QUEUE_URL, TOKEN_HASH_SECRET_ARN and AWS_REGION set
 * as the stack's functions have them (docs/operations.md, "Restoring the table"); locally it uses
 * the running `npm start`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { localEnvironment } from './settings.js';

const SAFETY_MARGIN_MS = 60_000;
const { values, positionals } = parseArgs({ options: { since: { type: 'string' } }, allowPositionals: true });
const since = values.since === undefined ? Number.NaN : Date.parse(values.since);
if (Number.isNaN(since) || positionals.length === 0) {
  console.error('usage: npm run -s replay-revocations -- --since <RFC 3339 time of the restore point> <log file or folder>...');
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!process.env.TABLE_NAME) Object.assign(process.env, localEnvironment());

const files = (path: string): string[] => (statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((name) => files(join(path, name))) : [path]);
const { loggedChange } = await import('../shared/db/revocation-log.js');
const { replayRevocationLog } = await import('../shared/domain/restore-replay.js');
const changes = positionals.flatMap(files).flatMap((file) => {
  const bytes = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  return text.split('\n').filter((line) => line.trim() !== '').flatMap((line) => loggedChange(line) ?? []);
});
const report = await replayRevocationLog(changes.filter((c) => c.at >= since - SAFETY_MARGIN_MS), Date.now());
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (report.jobsDeferred > 0) {
  console.error(`${report.jobsDeferred} logged jobs wait for their apps' running revocations to finish: run the replay again in a few minutes.`);
  process.exit(1);
}
