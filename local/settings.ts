import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * The local runner's settings and their documented defaults (README, "Configuration"). Only the
 * local server and CLI read these; Lambda code reads shared/config.ts, which has no defaults.
 */
export function localSettings(env: NodeJS.ProcessEnv = process.env) {
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  const port = Number(env.PORT ?? 3000);
  return {
    dataDir,
    port,
    tableName: env.TABLE_NAME ?? 'oauth-usage',
    region: env.AWS_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
    sqsEndpoint: env.SQS_ENDPOINT,
    /** The local server is the issuer: its own origin, so the console can discover it. */
    jwtIssuer: env.JWT_ISSUER ?? `http://127.0.0.1:${port}`,
    /** The console's client id at the local issuer (a public client with PKCE). */
    consoleClientId: 'oauth-usage-console',
    jwtAudience: env.JWT_AUDIENCE ?? 'oauth-usage',
    /** The origins whose browsers may call the API (CORS): the console's own one unless told otherwise. */
    consoleOrigins: env.CONSOLE_ORIGINS ?? `http://127.0.0.1:${port}`,
    sweepIntervalSeconds: positiveNumber('SWEEP_INTERVAL_SECONDS', env.SWEEP_INTERVAL_SECONDS ?? '60'),
  };
}

export type LocalSettings = ReturnType<typeof localSettings>;

/** The local bucket of audit exports (S3 bucket names are lower case). */
export const exportBucketName = (tableName: string) => `${tableName.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 55)}-exports`;

function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, not "${value}"`);
  return n;
}

/** Reads a file under DATA_DIR, creating it with `create()` the first time (owner-only). */
export function persistent(dataDir: string, name: string, create: () => string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = resolve(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, create(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** The token-hashing secret of this local installation (in AWS it comes from Secrets Manager). */
export const localServiceSecret = (dataDir: string) => persistent(dataDir, 'token-hash-secret', () => randomBytes(32).toString('base64'));

/** Where `npm start` recorded the endpoints of the emulators it started, for the CLIs. */
const endpointsFile = (dataDir: string) => resolve(dataDir, 'endpoints.json');

export function recordEndpoints(dataDir: string, endpoints: { dynamodbEndpoint: string; sqsEndpoint: string; queueUrl: string; sweepQueueUrl: string }): void {
  writeFileSync(endpointsFile(dataDir), JSON.stringify(endpoints));
}

/**
 * The environment the handlers expect, for a CLI run beside `npm start`: the same table, secret
 * and endpoints (the env's own, else those `npm start` recorded).
 */
export function localEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const settings = localSettings(env);
  const recorded = existsSync(endpointsFile(settings.dataDir))
    ? (JSON.parse(readFileSync(endpointsFile(settings.dataDir), 'utf8')) as { dynamodbEndpoint: string; sqsEndpoint: string; queueUrl: string; sweepQueueUrl?: string })
    : undefined;
  const dynamodbEndpoint = settings.dynamodbEndpoint ?? recorded?.dynamodbEndpoint;
  const sqsEndpoint = settings.sqsEndpoint ?? recorded?.sqsEndpoint;
  const queueUrl = env.QUEUE_URL ?? recorded?.queueUrl;
  const sweepQueueUrl = env.SWEEP_QUEUE_URL ?? recorded?.sweepQueueUrl;
  if (!dynamodbEndpoint || !sqsEndpoint || !queueUrl || !sweepQueueUrl) throw new Error('Start the service first (npm start), or set DYNAMODB_ENDPOINT, SQS_ENDPOINT, QUEUE_URL and SWEEP_QUEUE_URL');
  return {
    AWS_REGION: settings.region,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY ?? 'local',
    TABLE_NAME: settings.tableName,
    DYNAMODB_ENDPOINT: dynamodbEndpoint,
    SQS_ENDPOINT: sqsEndpoint,
    QUEUE_URL: queueUrl,
    SWEEP_QUEUE_URL: sweepQueueUrl,
    // Audit exports: the emulator's S3, and download links the local server signs and serves.
    S3_ENDPOINT: env.S3_ENDPOINT ?? sqsEndpoint,
    EXPORT_BUCKET: exportBucketName(settings.tableName),
    EXPORT_DOWNLOADS_URL: `http://127.0.0.1:${settings.port}`,
    TOKEN_HASH_SECRET: localServiceSecret(settings.dataDir),
    // Functions that verify bearer JWTs themselves (as /oauth2/introspect does) check them against the local issuer.
    JWT_ISSUER: settings.jwtIssuer,
    JWT_AUDIENCE: settings.jwtAudience,
    // Issuers an org trusts may run on this machine (plain http on loopback), never deployed.
    ALLOW_LOOPBACK_ISSUERS: 'true',
  };
}
