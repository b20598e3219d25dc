import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * The local runner's settings and their documented defaults (README, "Configuration"). Only the
 * local server and CLI read these; Lambda code reads shared/config.ts, which has no defaults.
 */
export function localSettings(env: NodeJS.ProcessEnv = process.env) {
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  return {
    dataDir,
    port: Number(env.PORT ?? 3000),
    tableName: env.TABLE_NAME ?? 'oauth-usage',
    region: env.AWS_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
    sqsEndpoint: env.SQS_ENDPOINT,
    jwtIssuer: env.JWT_ISSUER ?? 'urn:oauth-usage:local-issuer',
    jwtAudience: env.JWT_AUDIENCE ?? 'oauth-usage',
  };
}

export type LocalSettings = ReturnType<typeof localSettings>;

/** Reads a file under DATA_DIR, creating it with `create()` the first time (owner-only). */
export function persistent(dataDir: string, name: string, create: () => string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = resolve(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, create(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** The token-hashing secret of this local installation (in AWS it comes from Secrets Manager). */
export const localServiceSecret = (dataDir: string) => persistent(dataDir, 'token-hash-secret', () => randomBytes(32).toString('base64'));
