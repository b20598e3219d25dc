import { describe, expect, it } from 'vitest';
import { createSealer, createTokenHasher, singleKey } from '../../shared/crypto.js';

const secret = Buffer.alloc(32, 1);

describe('token hashing', () => {
  const hasher = createTokenHasher(singleKey(secret));

  it('is deterministic, keyed, and gives a 22-character token id that is not the lookup key', () => {
    const a = hasher.digest('raw-token-value-123456');
    expect(hasher.digest('raw-token-value-123456')).toEqual(a);
    expect(a.lookupKey).toMatch(/^[0-9a-f]{32}$/);
    expect(a.tokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(a.tokenId, 'base64url').toString('hex')).not.toBe(a.lookupKey);
    expect(createTokenHasher(singleKey(Buffer.alloc(32, 2))).digest('raw-token-value-123456')).not.toEqual(a);
    expect(hasher.digest('raw-token-value-123457').lookupKey).not.toBe(a.lookupKey);
  });

  it('stores a JWT in its one spelling, and looks one presented in another spelling up as it was spelled too (items keyed before the one spelling)', async () => {
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256');
    const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const twinOf = (jwt: string) => {
      const [h, p, sig] = jwt.split('.') as [string, string, string];
      const bytes = Buffer.from(sig, 'base64url');
      const low = (order - BigInt(`0x${bytes.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0');
      return `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), Buffer.from(low, 'hex')]).toString('base64url')}`;
    };
    const jwt = await new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    const [spelling, other] = [jwt, twinOf(jwt)];
    expect(hasher.digest(other)).toEqual(hasher.digest(spelling));
    // One of the two is the one spelling: it has one key; the other has that key, then its own as spelled.
    const [canonical, nonCanonical] = hasher.lookupKeysOf(spelling).length === 1 ? [spelling, other] : [other, spelling];
    expect(hasher.lookupKeysOf(canonical)).toEqual([hasher.digest(canonical).lookupKey]);
    const [stored, asSpelled] = hasher.lookupKeysOf(nonCanonical);
    expect(stored).toBe(hasher.digest(canonical).lookupKey);
    expect(asSpelled).not.toBe(stored);
    // A write of the value keeps its key as spelled free too (a container without the one spelling would store it there).
    expect(hasher.contestedKeysOf(nonCanonical)).toContain(asSpelled);
    expect(hasher.contestedKeysOf(canonical)).toEqual([]);
    expect(hasher.lookupKeysOf('opaque-token-value-0123456789')).toHaveLength(1);
  });

  it('keys a learned token by its issuer and id apart from every raw value: no raw value presented reaches it', () => {
    const learned = hasher.digest({ issuer: 'https://idp.example', tokenId: 'jti-1' });
    expect(hasher.digest({ issuer: 'https://idp.example', tokenId: 'jti-1' })).toEqual(learned);
    expect(hasher.lookupKeyOf(learned.tokenId)).toBe(learned.lookupKey);
    for (const raw of ['["https://idp.example","jti-1"]', 'https://idp.example jti-1', 'https://idp.examplejti-1', 'jti-1']) {
      expect(hasher.digest(raw).lookupKey).not.toBe(learned.lookupKey);
    }
    // The pair is hashed unambiguously: another split of the same characters is another token.
    expect(hasher.digest({ issuer: 'https://idp.example/a', tokenId: 'b' }).lookupKey).not.toBe(hasher.digest({ issuer: 'https://idp.example/', tokenId: 'ab' }).lookupKey);
    expect(hasher.digest({ issuer: 'https://other.example', tokenId: 'jti-1' }).lookupKey).not.toBe(learned.lookupKey);
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
  const sealer = createSealer(singleKey(secret));

  it('round-trips a value under the same scope only', () => {
    const sealed = sealer.seal('org\nlist', { pk: 'x', sk: 'y' });
    expect(sealer.open('org\nlist', sealed)).toEqual({ pk: 'x', sk: 'y' });
    expect(sealer.open('org\nother-list', sealed)).toBeUndefined();
    expect(sealer.open('other-org\nlist', sealed)).toBeUndefined();
    expect(createSealer(singleKey(Buffer.alloc(32, 2))).open('org\nlist', sealed)).toBeUndefined();
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

describe('key versions (a rotated secret)', () => {
  const v1 = Buffer.alloc(32, 1);
  const v2 = Buffer.alloc(32, 9);
  const before = createTokenHasher(singleKey(v1));
  const after = createTokenHasher({ current: 2, keys: new Map([[1, v1], [2, v2]]) });

  it('hashes new tokens with the current version, whose keys and ids say so, and finds old ones under every version', () => {
    const raw = 'a-raw-token-value-from-before';
    const old = before.digest(raw);
    const now = after.digest(raw);
    expect(now.lookupKey).toMatch(/^2-[0-9a-f]{32}$/);
    expect(now.tokenId).toMatch(/^2\.[A-Za-z0-9_-]{22}$/);
    expect(after.lookupKeysOf(raw)).toEqual([now.lookupKey, old.lookupKey]);
    // Ids of both versions still name their tokens; another spelling of either does not.
    expect(after.lookupKeyOf(old.tokenId)).toBe(old.lookupKey);
    expect(after.lookupKeyOf(now.tokenId)).toBe(now.lookupKey);
    for (const alias of [`1.${old.tokenId}`, `02.${now.tokenId.slice(2)}`, `3.${now.tokenId.slice(2)}`]) expect(after.lookupKeyOf(alias)).toBeUndefined();
    // Once version 1 is dropped, what it keyed is unreachable.
    expect(createTokenHasher({ current: 2, keys: new Map([[2, v2]]) }).lookupKeyOf(old.tokenId)).toBeUndefined();
  });

  it('names as contested only the versions another container may store under during a rollout: those newer than the current one, and the one before it', () => {
    const keys = new Map(Array.from({ length: 10 }, (_, n) => [n + 1, Buffer.alloc(32, n + 1)] as const));
    const raw = 'a-raw-token-value';
    const versionsOf = (lookupKeys: string[]) => lookupKeys.map((k) => (/^(\d+)-/.exec(k)?.[1] ?? '1'));
    // Nine versions kept for good, the tenth known and not yet current (phase 1): checked, 8 and 10; read, all ten.
    const staged = createTokenHasher({ current: 9, keys });
    expect(versionsOf(staged.contestedKeysOf(raw))).toEqual(['10', '8']);
    expect(staged.lookupKeysOf(raw)).toHaveLength(10);
    // The tenth made current (phase 2): the ninth, still current elsewhere, is checked.
    expect(versionsOf(createTokenHasher({ current: 10, keys }).contestedKeysOf(raw))).toEqual(['9']);
    expect(createTokenHasher(singleKey(v1)).contestedKeysOf(raw)).toEqual([]);
  });

  it('seals cursors with the current version and opens those of every version it holds', () => {
    const old = createSealer(singleKey(v1)).seal('s', { k: 1 });
    const rotated = createSealer({ current: 2, keys: new Map([[1, v1], [2, v2]]) });
    expect(rotated.open('s', old)).toEqual({ k: 1 });
    expect(rotated.seal('s', { k: 2 })).toMatch(/^2\./);
    expect(createSealer({ current: 2, keys: new Map([[2, v2]]) }).open('s', old)).toBeUndefined();
  });
});
