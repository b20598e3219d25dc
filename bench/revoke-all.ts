/**
 * `npm run bench:revoke-all -- [--users 10000] [--per-user 10]`
 * Revokes every token of one app holding users × per-user tokens, end to end on this machine:
 * DynamoDB Local and the SQS emulator (started here), the real API handler and the real worker
 * fed by the local poller. Prints how long the call took, how long the job took, and the
 * DynamoDB and SQS requests it made, as JSON.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ensureQueues, ensureTable, localCredentials, startDynamoDbLocal, startSqsEmulator } from '../local/services.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '10000' }, 'per-user': { type: 'string', default: '10' } } });
const USERS = Number(values.users);
const PER_USER = Number(values['per-user']);
const org = 'bench-org';
const appId = 'big-app';

const [dynamodb, sqsEmulator] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
try {
  const tableName = 'bench';
  await ensureTable(dynamodb.endpoint, 'us-east-1', tableName);
  const queueUrl = await ensureQueues(sqsEmulator.endpoint, 'us-east-1', 'bench-revocations');
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: localCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'WARN',
    TABLE_NAME: tableName, DYNAMODB_ENDPOINT: dynamodb.endpoint, SQS_ENDPOINT: sqsEmulator.endpoint, QUEUE_URL: queueUrl,
    TOKEN_HASH_SECRET: randomBytes(32).toString('base64'),
  });
  const { seedApp } = await import('./seed.js');
  const { dynamo } = await import('../shared/db/client.js');
  const { httpApiEvent, lambdaContext } = await import('../local/event.js');
  const { handler: revokeHandler } = await import('../functions/http/request-revocation.js');
  const { handler: worker } = await import('../functions/worker/revocations.js');
  const { pollOnce } = await import('../local/queue-poller.js');
  const { getAppWithCounters } = await import('../shared/db/apps.js');
  const { getJob } = await import('../shared/db/jobs.js');

  const seedStarted = Date.now();
  await seedApp(org, appId, USERS, PER_USER);
  const seedSeconds = (Date.now() - seedStarted) / 1000;

  const requests: Record<string, number> = {};
  dynamo.middlewareStack.add((next, context) => (args) => {
    requests[String(context.commandName)] = (requests[String(context.commandName)] ?? 0) + 1;
    return next(args);
  }, { step: 'initialize', name: 'count' });
  const sqs = new SQSClient({ endpoint: sqsEmulator.endpoint, region: 'us-east-1' });
  let sqsBatches = 0;

  const callStarted = Date.now();
  const reply = await revokeHandler(httpApiEvent({
    method: 'POST', url: `/v1/apps/${appId}/revocations`, routeKey: 'POST /v1/apps/{appId}/revocations', pathParameters: { appId },
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ all: true, reason: 'benchmark' }),
    claims: { sub: 'bench', org_id: org, org_edition: 'Developer', scope: 'apps:manage' },
  }), lambdaContext('bench'));
  const callMs = Date.now() - callStarted;
  if (reply.statusCode !== 202) throw new Error(`revocation call answered ${reply.statusCode}: ${reply.body}`);
  const { jobId } = JSON.parse(reply.body ?? '{}') as { jobId: string };

  const jobStarted = Date.now();
  let messages = 0;
  for (;;) {
    const received = await pollOnce(sqs, queueUrl, worker, 0, { retryFailedAtOnce: true });
    if (received === 0) break;
    messages += received;
    sqsBatches++;
  }
  const jobSeconds = (Date.now() - jobStarted) / 1000;
  const job = await getJob(org, jobId);
  const app = await getAppWithCounters(org, appId);
  const tokens = USERS * PER_USER;
  console.log(JSON.stringify({
    users: USERS, tokens, seedSeconds,
    revokeCallMs: callMs,
    job: { status: job?.status, progress: job?.progress, seconds: jobSeconds, tokensPerSecond: Math.round(tokens / jobSeconds), queueMessages: messages, receives: sqsBatches },
    appAfter: { userCount: app?.userCount, activeTokenCount: app?.activeTokenCount },
    dynamodbRequests: requests,
  }, null, 2));
} finally {
  await Promise.allSettled([dynamodb.stop(), sqsEmulator.stop()]);
}
