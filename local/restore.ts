/**
 * `npm run -s restore -- [--from <restored table>] --since <restore point> <log file or folder>...`
 * Finishes a point-in-time restore (docs/operations.md, "Restoring the table"): copies the table
 * AWS restored (`--from`) into the service's own table, then re-applies the revocation log (the
 * objects the stack's Firehose writes to its log bucket, as `aws s3 sync` downloads them: one
 * stream record a line, gzipped or not) for every change since the restore point, a minute
 * earlier to be safe (both steps are idempotent: run it again after a stop). Prints a JSON report.
 * Deployed: run with TABLE_NAME, QUEUE_URL, TOKEN_HASH_SECRET_ARN and AWS_REGION as the stack's
 * functions have them; locally it uses the running `npm start`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { localEnvironment } from './settings.js';

const SAFETY_MARGIN_MS = 60_000;
const { values, positionals } = parseArgs({ options: { from: { type: 'string' }, since: { type: 'string' } }, allowPositionals: true });
const since = values.since === undefined ? Number.NaN : Date.parse(values.since);
if (Number.isNaN(since) || positionals.length === 0) {
  console.error('usage: npm run -s restore -- [--from <restored table>] --since <RFC 3339 time of the restore point> <log file or folder>...');
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!process.env.TABLE_NAME) Object.assign(process.env, localEnvironment());

const files = (path: string): string[] => (statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((name) => files(join(path, name))) : [path]);
const { loggedChange } = await import('../shared/db/revocation-log.js');
const { copyRestoredTable } = await import('../shared/db/table-copy.js');
const { replayRevocationLog } = await import('../shared/domain/restore-replay.js');
const GZIP_MAGIC = [0x1f, 0x8b];
const changes = positionals.flatMap(files).flatMap((file) => {
  const bytes = readFileSync(file);
  const text = (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1] ? gunzipSync(bytes) : bytes).toString('utf8');
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return loggedChange(line) ?? [];
    } catch (error) {
      throw new Error(`${file}:${i + 1} is not a stream record (${(error as Error).message}); nothing was changed`);
    }
  });
});
const copied = values.from ? await copyRestoredTable(values.from) : null;
const replayed = await replayRevocationLog(changes.filter((c) => c.at >= since - SAFETY_MARGIN_MS), Date.now());
process.stdout.write(`${JSON.stringify({ copied, replayed }, null, 2)}\n`);
if (replayed.jobsDeferred > 0) {
  console.error(`${replayed.jobsDeferred} logged jobs wait for their apps' running revocations to finish: run it again (without --from) in a few minutes.`);
  process.exit(1);
}
