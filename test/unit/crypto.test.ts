import { describe, expect, it } from 'vitest';
import { createSealer, createTokenHasher } from '../../shared/crypto.js';

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

describe('sealed cursors', () => {
  const sealer = createSealer(secret);

  it('round-trips a value under the same scope only', () => {
    const sealed = sealer.seal('org\nlist', { pk: 'x', sk: 'y' });
    expect(sealer.open('org\nlist', sealed)).toEqual({ pk: 'x', sk: 'y' });
    expect(sealer.open('org\nother-list', sealed)).toBeUndefined();
    expect(sealer.open('other-org\nlist', sealed)).toBeUndefined();
    expect(createSealer(Buffer.alloc(32, 2)).open('org\nlist', sealed)).toBeUndefined();
  });

  it('reveals nothing of what it holds', () => {
    const key = { pk: 'ORG#acme#TOKEN#0123456789abcdef0123456789abcdef', sk: 'TOKEN' };
    const sealed = sealer.seal('s', key);
    const bytes = Buffer.from(sealed, 'base64url').toString('latin1');
    for (const part of ['ORG#', 'acme', '0123456789abcdef', 'TOKEN']) expect(bytes).not.toContain(part);
    expect(sealer.seal('s', key)).not.toBe(sealed); // a fresh nonce each time
  });

  it('rejects any alteration', () => {
    const sealed = sealer.seal('s', { pk: 'x' });
    const flipped = (i: number) => `${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}`;
    for (const bad of [flipped(0), flipped(20), flipped(sealed.length - 1), sealed.slice(1), `${sealed}A`, '', '..', 'x'.repeat(60)]) {
      expect(sealer.open('s', bad)).toBeUndefined();
    }
  });
});
