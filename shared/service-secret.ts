/**
 * The service secret, in a module of its own so that only the functions that hash tokens or seal
 * cursors load it (and are granted it): `health` and `not-found` neither import nor may read it.
 */
import { config, optional, required } from './config.js';

/** The service's key material by version; new tokens and cursors use `current`, lookups try every version. */
export interface ServiceKeys {
  current: number;
  keys: ReadonlyMap<number, Buffer>;
}

function secretBytes(name: string, value: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 32) throw new Error(`${name} must be at least 32 bytes, base64-encoded`);
  return bytes;
}

/**
 * The secret's value: one base64 key (version 1), or, once rotated,
 * `{"current": 2, "keys": {"1": "<base64>", "2": "<base64>"}}` (docs/operations.md, "Rotating the secret").
 */
export function parseServiceKeys(name: string, value: string): ServiceKeys {
  if (!value.trim().startsWith('{')) return { current: 1, keys: new Map([[1, secretBytes(name, value)]]) };
  const parsed = JSON.parse(value) as { current?: unknown; keys?: Record<string, unknown> };
  const keys = new Map(Object.entries(parsed.keys ?? {}).map(([v, key]) => {
    const version = Number(v);
    if (!Number.isInteger(version) || version < 1 || version > 9999 || typeof key !== 'string') throw new Error(`${name}: key versions are whole numbers 1–9999 with base64 keys`);
    return [version, secretBytes(`${name} version ${version}`, key)] as const;
  }));
  if (typeof parsed.current !== 'number' || !keys.has(parsed.current)) throw new Error(`${name}: "current" must name one of its key versions`);
  return { current: parsed.current, keys };
}

/**
 * Key material for token hashing, token ids and list cursors: TOKEN_HASH_SECRET itself (local
 * runs), or the Secrets Manager secret TOKEN_HASH_SECRET_ARN names, read once per container so
 * the value never appears in the template or the function's configuration.
 */
export const serviceKeys: ServiceKeys = await (async () => {
  const inline = optional('TOKEN_HASH_SECRET');
  if (inline) return parseServiceKeys('TOKEN_HASH_SECRET', inline);
  const arn = required('TOKEN_HASH_SECRET_ARN');
  // Loaded only in AWS, and through a module that names the two exports it needs, so the bundle
  // keeps just those of the Secrets Manager client.
  const { readSecretString } = await import('./secrets.js');
  return parseServiceKeys('TOKEN_HASH_SECRET_ARN', await readSecretString(config.region, arn));
})();
