/**
 * The service secret, in a module of its own so that only the functions that hash tokens or seal
 * cursors load it (and are granted it): `health` and `not-found` neither import nor may read it.
 */
import { config, optional, required } from './config.js';
import { beforeEachInvocation } from './invocation-hooks.js';
import { logger } from './logger.js';

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
 * How old the key set a container works with may be: it reads the secret again at the first
 * invocation after KEYS_MAX_AGE_MS, and if that read fails it goes on with what it has for as long
 * again, then refuses to work. So `KEYS_MAX_AGE_MS` × 2 plus the longest invocation after a change
 * of the secret, every container holds the new value: the rotation runbook's wait between phases.
 */
export const KEYS_MAX_AGE_MS = 5 * 60_000;

/**
 * Key material for token hashing, token ids and list cursors: TOKEN_HASH_SECRET itself (local
 * runs; it does not change), or the Secrets Manager secret TOKEN_HASH_SECRET_ARN names, read at
 * cold start and again as above, so the value never appears in the template or the function's
 * configuration.
 */
const source = (() => {
  const inline = optional('TOKEN_HASH_SECRET');
  if (inline) return { name: 'TOKEN_HASH_SECRET', read: () => Promise.resolve(inline), changes: false };
  const arn = required('TOKEN_HASH_SECRET_ARN');
  // Loaded only in AWS, and through a module that names the two exports it needs, so the bundle
  // keeps just those of the Secrets Manager client.
  const read = async () => (await import('./secrets.js')).readSecretString(config.region, arn);
  return { name: 'TOKEN_HASH_SECRET_ARN', read, changes: true };
})();

/**
 * The key set a container holds, and its refresh: `read` is the secret's source, `changes` false
 * for one that cannot change (a local environment variable).
 */
export function keyHolder(name: string, read: () => Promise<string>, changes: boolean, first: string, firstReadAt: number) {
  let held = parseServiceKeys(name, first);
  let readAt = firstReadAt;
  return {
    /** The key set to work with now (replaced, never mutated, when the secret changes). */
    keys: (): ServiceKeys => held,
    /** Reads the secret again once what is held is KEYS_MAX_AGE_MS old; throws once it could not for twice that. */
    async refresh(now: number): Promise<void> {
      if (!changes || now - readAt < KEYS_MAX_AGE_MS) return;
      try {
        const next = parseServiceKeys(name, await read());
        if (!sameKeys(next, held)) {
          logger.info('The service secret changed: new key set in use', { current: next.current, versions: [...next.keys.keys()] });
          held = next;
        }
        readAt = now;
      } catch (error) {
        if (now - readAt < 2 * KEYS_MAX_AGE_MS) {
          logger.warn('Could not read the service secret again; going on with the key set read before', { error: error as Error });
          return;
        }
        // Past this a rotation may have made current a version this container does not know.
        throw new Error('The service secret could not be read for too long: refusing to work with a key set that may be out of date', { cause: error });
      }
    },
  };
}

const holder = keyHolder(source.name, source.read, source.changes, await source.read(), Date.now());

/** The key set this container works with now. */
export const serviceKeys = (): ServiceKeys => holder.keys();

const sameKeys = (a: ServiceKeys, b: ServiceKeys) =>
  a.current === b.current && a.keys.size === b.keys.size && [...a.keys].every(([version, key]) => b.keys.get(version)?.equals(key) === true);

beforeEachInvocation(() => holder.refresh(Date.now()));
