import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { canonicalJwsSpelling } from './jwt-spelling.js';

/**
 * The service's keyed cryptography, all derived from TOKEN_HASH_SECRET with HKDF.
 *
 * How raw token values become storage keys and public ids, without ever storing the value.
 *
 * - lookup key: HMAC-SHA-256(k_lookup, raw), first 16 bytes, hex. Introspection finds the token
 *   item with one GetItem on it. 128 bits keeps collisions out of reach (birthday bound 2^64).
 *   A JWT is hashed in its one spelling (shared/jwt-spelling.ts): another spelling of a revoked
 *   JWT is that revoked token. A value presented in another spelling is also looked up (and kept
 *   free) as it was spelled: items written before the one spelling, or by a container without
 *   it, are keyed so.
 * - token id: the lookup key encrypted as one AES-128 block (a keyed permutation) and base64url'd.
 *   It is deterministic (re-registration returns the same id), reveals nothing about the hash
 *   without the key, and decrypts back to the lookup key, so an admin's `tokenId` reaches the
 *   item with a strongly consistent GetItem too. A single block of uniformly random input is the
 *   one case where ECB mode is exactly a pseudorandom permutation.
 */
/**
 * What a token is stored by: its raw value, or for a JWT of a trusted issuer learned by its id
 * (contract section 9) the issuer and the token id it carries. The two are hashed under keys
 * derived apart, so no raw value presented to introspection can reach a learned token's item.
 */
export type TokenName = string | LearnedName;
export interface LearnedName {
  issuer: string;
  tokenId: string;
}

export interface TokenHasher {
  /** The lookup key and token id under the current key version (what a new token is stored under). */
  digest(name: TokenName): { lookupKey: string; tokenId: string };
  /** The token's lookup keys under every key version, current first: a token may be stored under any. */
  lookupKeysOf(name: TokenName): string[];
  /**
   * The raw value's lookup keys under the versions another container may be storing new values
   * under during a two-phase rollout (docs/operations.md): every version newer than the current
   * one (known here, current there in phase 2) and the newest older one (current there while
   * this container has moved on). A write that stores a value checks these are empty; older
   * versions are only read, so the checks do not grow with every version the secret keeps.
   */
  contestedKeysOf(name: TokenName): string[];
  /**
   * The lookup key a token id names, or undefined unless the id is in its one canonical spelling:
   * 22 base64url characters carry 132 bits for a 128-bit block, and decoders ignore the 4 left
   * over, so 15 other spellings would decode to the same token. Ids of key versions after the
   * first carry their version: `<version>.<22 characters>`.
   */
  lookupKeyOf(tokenId: string): string | undefined;
  /** The lookup key of a token id read from storage (which may predate the canonical-spelling rule). */
  storedLookupKeyOf(tokenId: string): string;
}

/** Key material by version (see shared/service-secret.ts); version 1 keys are bare, later ones carry their version. */
export interface VersionedKeys {
  current: number;
  keys: ReadonlyMap<number, Buffer>;
}

const derive = (secret: Buffer, info: string, length: number) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `oauth-usage/${info}`, length));

export function createTokenHasher(material: VersionedKeys): TokenHasher {
  const versions = [material.current, ...[...material.keys.keys()].filter((v) => v !== material.current).sort((a, b) => b - a)];
  const contested = [...versions.filter((v) => v > material.current), ...versions.filter((v) => v < material.current).slice(0, 1)];
  const byVersion = new Map([...material.keys].map(([version, secret]) => [version, {
    lookup: derive(secret, 'token-lookup', 32),
    learned: derive(secret, 'learned-token-lookup', 32),
    id: derive(secret, 'token-id', 16),
  }]));
  const prefix = (version: number, separator: string) => (version === 1 ? '' : `${version}${separator}`);
  const hashOf = (version: number, name: TokenName) => {
    const keys = byVersion.get(version);
    // A learned name as JSON: no issuer and id can spell another pair's.
    return (typeof name === 'string' ? createHmac('sha256', keys?.lookup as Buffer).update(name, 'utf8') : createHmac('sha256', keys?.learned as Buffer).update(JSON.stringify([name.issuer, name.tokenId]), 'utf8'))
      .digest().subarray(0, 16);
  };
  const keyOf = (version: number, name: TokenName) => `${prefix(version, '-')}${hashOf(version, name).toString('hex')}`;
  /** What a name is stored under (a raw value in its one spelling), then how it was spelled when that differs. */
  const spellings = (name: TokenName): TokenName[] => {
    if (typeof name !== 'string') return [name];
    const canonical = canonicalJwsSpelling(name);
    return canonical === name ? [name] : [canonical, name];
  };
  const cipher = (version: number, block: Buffer, decrypt: boolean) => {
    const key = byVersion.get(version)?.id as Buffer;
    const c = decrypt ? createDecipheriv('aes-128-ecb', key, null) : createCipheriv('aes-128-ecb', key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  /** `<version>.` and the 22 characters, or undefined for a version this service does not hold. */
  const split = (tokenId: string) => {
    const dot = tokenId.indexOf('.');
    const version = dot < 0 ? 1 : Number(tokenId.slice(0, dot));
    const body = tokenId.slice(dot + 1);
    // Version 1 ids carry no prefix, later ones exactly `<version>.`: one spelling each.
    if (!byVersion.has(version) || (dot >= 0 && (version === 1 || `${version}.${body}` !== tokenId))) return undefined;
    return { version, body };
  };

  return {
    digest(name) {
      const version = material.current;
      const hash = hashOf(version, spellings(name)[0] as TokenName);
      return { lookupKey: `${prefix(version, '-')}${hash.toString('hex')}`, tokenId: `${prefix(version, '.')}${cipher(version, hash, false).toString('base64url')}` };
    },
    lookupKeysOf(name) {
      const [stored, ...asSpelled] = spellings(name) as [TokenName, ...TokenName[]];
      return [...versions.map((version) => keyOf(version, stored)), ...asSpelled.flatMap((spelled) => versions.map((version) => keyOf(version, spelled)))];
    },
    contestedKeysOf(name) {
      const [stored, ...asSpelled] = spellings(name) as [TokenName, ...TokenName[]];
      return [...contested.map((version) => keyOf(version, stored)), ...asSpelled.flatMap((spelled) => [material.current, ...contested].map((version) => keyOf(version, spelled)))];
    },
    lookupKeyOf(tokenId) {
      const parts = split(tokenId);
      const block = parts && Buffer.from(parts.body, 'base64url');
      if (!parts || !block || block.length !== 16 || block.toString('base64url') !== parts.body) return undefined;
      return `${prefix(parts.version, '-')}${cipher(parts.version, block, true).toString('hex')}`;
    },
    storedLookupKeyOf(tokenId) {
      const parts = split(tokenId) ?? { version: 1, body: tokenId };
      return `${prefix(parts.version, '-')}${cipher(parts.version, Buffer.from(parts.body, 'base64url').subarray(0, 16), true).toString('hex')}`;
    },
  };
}

/**
 * Sealed opaque strings (list cursors): AES-256-GCM under a key derived from the secret, with
 * `scope` (org, list and filters) as additional authenticated data. A cursor reveals nothing of
 * what it holds (storage keys, hashes), and one altered, or sealed for another scope, does not open.
 */
export function createSealer(material: VersionedKeys) {
  const keys = new Map([...material.keys].map(([version, secret]) => [version, derive(secret, 'cursor-seal', 32)]));
  return {
    seal(scope: string, value: unknown): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.get(material.current) as Buffer, iv).setAAD(Buffer.from(scope));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return `${material.current}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    /** The sealed value, or undefined when the string was altered, sealed for another scope, or under a key no longer held. */
    open(scope: string, sealed: string): unknown {
      const [version, text = '', extra] = sealed.split('.');
      const key = keys.get(Number(version));
      const bytes = Buffer.from(text, 'base64url');
      // Compared as canonical text: base64url decoding ignores some bits of the last character.
      if (!key || extra !== undefined || `${Number(version)}` !== version || bytes.length < 12 + 16 + 1 || bytes.toString('base64url') !== text) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12)).setAAD(Buffer.from(scope));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    },
  };
}

/** One key, version 1: a secret that was never rotated. */
export const singleKey = (secret: Buffer): VersionedKeys => ({ current: 1, keys: new Map([[1, secret]]) });
