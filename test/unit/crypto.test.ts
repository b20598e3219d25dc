import { describe, expect, it } from 'vitest';
import { createSigner, createTokenHasher } from '../../shared/crypto.js';

const secret = Buffer.alloc(32, 1);

describe('token hashing', () => {
  const hasher = createTokenHasher(secret);

  it('is deterministic, keyed, and gives a 22-character token id that is not the lookup key', () => {
    const a = hasher.digest('raw-token-value-123456');
    expect(hasher.digest('raw-token-value-123456')).toEqual(a);
    expect(a.lookupKey).toMatch(/^[0-9a-f]{32}$/);
    expect(a.tokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(a.tokenId, 'base64url').toString('hex')).not.toBe(a.lookupKey);
    expect(createTokenHasher(Buffer.alloc(32, 2)).digest('raw-token-value-123456')).not.toEqual(a);
    expect(hasher.digest('raw-token-value-123457').lookupKey).not.toBe(a.lookupKey);
  });

  it('maps a token id back to its lookup key', () => {
    const { lookupKey, tokenId } = hasher.digest('another-raw-token-value');
    expect(hasher.lookupKeyOf(tokenId)).toBe(lookupKey);
  });

  it('accepts a token id only in its canonical spelling', () => {
    const { tokenId } = hasher.digest('a-third-raw-token-value');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(tokenId.slice(-1));
    // The last character's low 4 bits are padding: the 15 other values decode to the same bytes.
    const aliases = Array.from({ length: 16 }, (_, bits) => `${tokenId.slice(0, -1)}${alphabet[(last & ~15) | bits]}`).filter((id) => id !== tokenId);
    expect(aliases).toHaveLength(15);
    for (const alias of aliases) {
      expect(Buffer.from(alias, 'base64url')).toEqual(Buffer.from(tokenId, 'base64url'));
      expect(hasher.lookupKeyOf(alias)).toBeUndefined();
    }
    expect(hasher.lookupKeyOf(tokenId.slice(1))).toBeUndefined();
  });
});

describe('signed cursors', () => {
  const signer = createSigner(secret);

  it('round-trips a value under the same scope only', () => {
    const signed = signer.sign('org\nlist', { pk: 'x', sk: 'y' });
    expect(signer.verify('org\nlist', signed)).toEqual({ pk: 'x', sk: 'y' });
    expect(signer.verify('org\nother-list', signed)).toBeUndefined();
    expect(signer.verify('other-org\nlist', signed)).toBeUndefined();
  });

  it('rejects any alteration', () => {
    const signed = signer.sign('s', { pk: 'x' });
    const [payload, mac] = signed.split('.') as [string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ pk: 'ORG#victim' })).toString('base64url');
    const lastFlipped = `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [lastFlipped, `${forgedPayload}.${mac}`, `${payload}.${mac.slice(1)}`, payload, `${signed}.x`, '', '..']) {
      expect(signer.verify('s', bad)).toBeUndefined();
    }
  });
});
