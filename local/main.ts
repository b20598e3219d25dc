/**
 * `npm start`: the whole service on one machine. DynamoDB Local and the SQS emulator start
 * unless DYNAMODB_ENDPOINT / SQS_ENDPOINT are set; then the HTTP API on PORT.
 */
import { buildConsole } from '../console/build.js';
import { createConsoleServer } from './console.js';
import { localIssuer } from './jwt.js';
import { createLocalOidc } from './oidc.js';
import { allowedOrigins } from '../shared/cors.js';
import { lambdaContext } from './event.js';
import { startQueuePoller } from './queue-poller.js';
import { startTimer } from './timer.js';
import { ensureBucket, ensureQueues, ensureTable, startDynamoDbLocal, startSqsEmulator, type RunningService } from './services.js';
import { exportBucketName, localEnvironment, localSettings, recordEndpoints } from './settings.js';

const settings = localSettings();
const started: RunningService[] = [];

async function main() {
  const dynamodbEndpoint = settings.dynamodbEndpoint ?? (await remember(startDynamoDbLocal(`${settings.dataDir}/dynamodb`))).endpoint;
  const sqsEndpoint = settings.sqsEndpoint ?? (await remember(startSqsEmulator())).endpoint;
  await ensureTable(dynamodbEndpoint, settings.region, settings.tableName);
  const queueUrl = await ensureQueues(sqsEndpoint, settings.region, `${settings.tableName}-revocations`);
  const sweepQueueUrl = await ensureQueues(sqsEndpoint, settings.region, `${settings.tableName}-sweep`);
  await ensureBucket(process.env.S3_ENDPOINT ?? sqsEndpoint, settings.region, exportBucketName(settings.tableName));

  // The handlers read their configuration from the environment, exactly as in Lambda.
  recordEndpoints(settings.dataDir, { dynamodbEndpoint, sqsEndpoint, queueUrl, sweepQueueUrl });
  Object.assign(process.env, localEnvironment({ ...process.env, DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: sqsEndpoint, QUEUE_URL: queueUrl, SWEEP_QUEUE_URL: sweepQueueUrl }));

  const issuer = await localIssuer(settings.dataDir, settings.jwtIssuer, settings.jwtAudience);
  const origin = `http://127.0.0.1:${settings.port}`;
  process.env.CONSOLE_ORIGINS = settings.consoleOrigins;
  const consoleDir = `${settings.dataDir}/console`;
  buildConsole(consoleDir);
  const { createLocalApi } = await import('./http-server.js');
  const { serveDownload } = await import('./downloads.js');
  const server = await createLocalApi(issuer, {
    downloads: serveDownload,
    console: createConsoleServer(consoleDir, { apiUrl: origin, issuer: settings.jwtIssuer, clientId: settings.consoleClientId }),
    oidc: createLocalOidc({ issuer, issuerUrl: settings.jwtIssuer, clientId: settings.consoleClientId, consoleOrigins: allowedOrigins(settings.consoleOrigins) }),
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(settings.port, '127.0.0.1', resolveListen);
  });

  const { handler: worker } = await import('../functions/worker/queue-worker.js');
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region: settings.region });
  const pollers = [queueUrl, sweepQueueUrl].map((url) => startQueuePoller(sqs, url, worker, (error) => console.error('queue poller:', error)));

  // The local queue does not survive a restart: jobs and audit exports that were queued or running
  // resume now, instead of waiting for the sweep's stall check.
  const { resumeUnfinishedJobs } = await import('../shared/domain/sweep.js');
  const resumed = await resumeUnfinishedJobs(Date.now());
  const counted = (n: number, what: string) => `${n} unfinished ${what}${n === 1 ? '' : 's'}`;
  if (resumed.jobs > 0) console.log(`Resumed ${counted(resumed.jobs, 'revocation job')}`);
  if (resumed.exports > 0) console.log(`Resumed ${counted(resumed.exports, 'audit export')}`);

  const { handler: sweep } = await import('../functions/jobs/sweep.js');
  const sweeper = startTimer(settings.sweepIntervalSeconds * 1000, () => sweep({}, lambdaContext('sweep', 300_000)), (error) => console.error('sweep:', error));

  const shutdown = async () => {
    server.close();
    await Promise.all([...pollers.map((p) => p.stop()), sweeper.stop()]);
    await Promise.allSettled(started.map((s) => s.stop()));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());

  console.log(`OAuth Usage service ready at ${origin} (console at ${origin}/; DynamoDB ${dynamodbEndpoint}, SQS ${sqsEndpoint}, data in ${settings.dataDir}, sweep every ${settings.sweepIntervalSeconds} s)`);
}

async function remember(service: Promise<RunningService>): Promise<RunningService> {
  const running = await service;
  started.push(running);
  return running;
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await Promise.allSettled(started.map((s) => s.stop()));
  process.exit(1);
});
