import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJwsSpelling } from '../../shared/jwt-spelling.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const withLastBit = (value: string) => `${value.slice(0, -1)}${BASE64URL[BASE64URL.indexOf(value.at(-1) as string) ^ 1]}`;
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const twin = (jwt: string) => {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  return `${header}.${payload}.${Buffer.concat([bytes.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex')]).toString('base64url')}`;
};

describe("a JWT's one spelling", () => {
  it('is the same for every spelling that verifies: unused base64url bits, and both ECDSA signatures', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const jwt = await new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg }).sign(privateKey);
      const others = [withLastBit(jwt), ...(alg === 'ES256' ? [twin(jwt), withLastBit(twin(jwt))] : [])].filter((other) => other !== jwt);
      expect(others.length, alg).toBeGreaterThan(0);
      for (const other of others) {
        await expect(jwtVerify(other, publicKey), `${alg} ${other}`).resolves.toBeDefined(); // each verifies: the same token
        expect(canonicalJwsSpelling(other), alg).toBe(canonicalJwsSpelling(jwt));
      }
      // The one spelling verifies too.
      await expect(jwtVerify(canonicalJwsSpelling(jwt), publicKey)).resolves.toBeDefined();
    }
  });

  it('leaves values that are no JWS as they are, and tells different tokens apart', async () => {
    for (const value of ['opaque-token-value-0123456789', 'abc.abd.abe', 'e30.e30', `${Buffer.from('{"typ":"x"}').toString('base64url')}.e30.abd`]) {
      expect(canonicalJwsSpelling(value)).toBe(value);
    }
    const { privateKey } = await generateKeyPair('ES256');
    const a = await new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    const b = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    expect(canonicalJwsSpelling(a)).not.toBe(canonicalJwsSpelling(b));
  });
});
