import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { ensureBucket, ensureQueues, ensureTable, localCredentials } from '../../local/services.js';
import { exportBucketName } from '../../local/settings.js';

/**
 * Runs before each test file: the handlers' environment (as Lambda would set it) and a table of
 * the file's own, so files never see each other's data.
 */
export const testSecret = Buffer.alloc(32, 7).toString('base64');
const tableName = `test-${randomUUID()}`;

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  TABLE_NAME: tableName,
  DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
  SQS_ENDPOINT: inject('sqsEndpoint'),
  // Audit exports: the SQS emulator's S3, and links in the local server's form (a test serves them with local/downloads.ts).
  S3_ENDPOINT: inject('sqsEndpoint'),
  EXPORT_BUCKET: exportBucketName(tableName),
  EXPORT_DOWNLOADS_URL: 'http://127.0.0.1:3000',
  TOKEN_HASH_SECRET: testSecret,
  ALLOW_LOOPBACK_ISSUERS: 'true',
  // Tests call as fast as the machine goes, for a few orgs: budgets no test reaches unless it
  // means to (the limiter's own tests give their org small ones).
  ORG_INTROSPECT_RATE_LIMIT_RPS: '1000000',
  ORG_REGISTER_RATE_LIMIT_RPS: '1000000',
  ORG_ADMIN_RATE_LIMIT_RPS: '1000000',
  // A chain of token rounds goes on at once (the delay is real time on the queue, not the tests' clock).
  SWEEP_TOKEN_ROUND_DELAY_SECONDS: '0',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
});

await ensureTable(inject('dynamodbEndpoint'), 'us-east-1', tableName);
process.env.QUEUE_URL = await ensureQueues(inject('sqsEndpoint'), 'us-east-1', tableName);
process.env.SWEEP_QUEUE_URL = await ensureQueues(inject('sqsEndpoint'), 'us-east-1', `${tableName}-sweep`);
await ensureBucket(inject('sqsEndpoint'), 'us-east-1', exportBucketName(tableName));
