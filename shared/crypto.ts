import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The service's keyed cryptography, all derived from TOKEN_HASH_SECRET with HKDF.
 *
 * How raw token values become storage keys and public ids, without ever storing the value.
 *
 * - lookup key: HMAC-SHA-256(k_lookup, raw), first 16 bytes, hex. Introspection finds the token
 *   item with one GetItem on it. 128 bits keeps collisions out of reach (birthday bound 2^64).
 * - token id: the lookup key encrypted as one AES-128 block (a keyed permutation) and base64url'd.
 *   It is deterministic (re-registration returns the same id), reveals nothing about the hash
 *   without the key, and decrypts back to the lookup key, so an admin's `tokenId` reaches the
 *   item with a strongly consistent GetItem too. A single block of uniformly random input is the
 *   one case where ECB mode is exactly a pseudorandom permutation.
 */
export interface TokenHasher {
  digest(rawToken: string): { lookupKey: string; tokenId: string };
  /**
   * The lookup key a token id names, or undefined unless the id is in its one canonical spelling:
   * 22 base64url characters carry 132 bits for a 128-bit block, and decoders ignore the 4 left
   * over, so 15 other spellings would decode to the same token.
   */
  lookupKeyOf(tokenId: string): string | undefined;
  /** The lookup key of a token id read from storage (which may predate the canonical-spelling rule). */
  storedLookupKeyOf(tokenId: string): string;
}

export function createTokenHasher(secret: Buffer): TokenHasher {
  const derive = (info: string, length: number) =>
    Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `oauth-usage/${info}`, length));
  const lookupKeyMaterial = derive('token-lookup', 32);
  const idKey = derive('token-id', 16);

  const encrypt = (block: Buffer) => {
    const cipher = createCipheriv('aes-128-ecb', idKey, null).setAutoPadding(false);
    return Buffer.concat([cipher.update(block), cipher.final()]);
  };
  const decrypt = (block: Buffer) => {
    const decipher = createDecipheriv('aes-128-ecb', idKey, null).setAutoPadding(false);
    return Buffer.concat([decipher.update(block), decipher.final()]);
  };

  return {
    digest(rawToken) {
      const hash = createHmac('sha256', lookupKeyMaterial).update(rawToken, 'utf8').digest().subarray(0, 16);
      return { lookupKey: hash.toString('hex'), tokenId: encrypt(hash).toString('base64url') };
    },
    lookupKeyOf(tokenId) {
      const block = Buffer.from(tokenId, 'base64url');
      if (block.length !== 16 || block.toString('base64url') !== tokenId) return undefined;
      return decrypt(block).toString('hex');
    },
    storedLookupKeyOf(tokenId) {
      return decrypt(Buffer.from(tokenId, 'base64url')).toString('hex');
    },
  };
}

/**
 * Sealed opaque strings (list cursors): AES-256-GCM under a key derived from the secret, with
 * `scope` (org, list and filters) as additional authenticated data. A cursor reveals nothing of
 * what it holds (storage keys, hashes), and one altered, or sealed for another scope, does not open.
 */
export function createSealer(secret: Buffer) {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'oauth-usage/cursor-seal', 32));
  return {
    seal(scope: string, value: unknown): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(scope));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    /** The sealed value, or undefined when the string was altered or was sealed for another scope. */
    open(scope: string, sealed: string): unknown {
      const bytes = Buffer.from(sealed, 'base64url');
      // Compared as canonical text: base64url decoding ignores some bits of the last character.
      if (bytes.length < 12 + 16 + 1 || bytes.toString('base64url') !== sealed) return undefined;
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
