import { SignJWT, UnsecuredJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyAsAuthorizer } from '../../shared/jwt-rules.js';

/** API Gateway's JWT authorizer's rules, as the local server and /oauth2/introspect apply them. */
const issuer = 'https://idp.example';
const expected = { issuer, audiences: ['oauth-usage', 'console-client'] };
const { publicKey, privateKey } = await generateKeyPair('RS256');
const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
const sign = (claims: Record<string, unknown>, { exp }: { exp?: string | null } = { exp: '5m' }) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setIssuedAt();
  return (exp === null ? jwt : jwt.setExpirationTime(exp ?? '5m')).sign(privateKey);
};

describe('verifyAsAuthorizer', () => {
  it('takes aud when present, and client_id only when there is no aud (Cognito access tokens)', async () => {
    expect(await verifyAsAuthorizer(await sign({ aud: 'oauth-usage' }), keys, expected)).toMatchObject({ aud: 'oauth-usage' });
    expect(await verifyAsAuthorizer(await sign({ aud: ['x', 'console-client'] }), keys, expected)).toBeDefined();
    expect(await verifyAsAuthorizer(await sign({ client_id: 'console-client' }), keys, expected)).toMatchObject({ client_id: 'console-client' });
    expect(await verifyAsAuthorizer(await sign({ client_id: 'someone-else' }), keys, expected)).toBeUndefined();
    // aud is what counts when both are there.
    expect(await verifyAsAuthorizer(await sign({ aud: 'another-api', client_id: 'console-client' }), keys, expected)).toBeUndefined();
    expect(await verifyAsAuthorizer(await sign({}), keys, expected)).toBeUndefined();
  });

  it('refuses no exp, an iat over a minute ahead, another issuer, alg none and HMAC', async () => {
    expect(await verifyAsAuthorizer(await sign({ aud: 'oauth-usage' }, { exp: null }), keys, expected)).toBeUndefined();
    const ahead = await new SignJWT({ aud: 'oauth-usage' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer)
      .setIssuedAt(Math.floor(Date.now() / 1000) + 120).setExpirationTime('10m').sign(privateKey);
    expect(await verifyAsAuthorizer(ahead, keys, expected)).toBeUndefined();
    expect(await verifyAsAuthorizer(await sign({ aud: 'oauth-usage' }), keys, { ...expected, issuer: 'https://other.example' })).toBeUndefined();
    const unsigned = new UnsecuredJWT({ aud: 'oauth-usage' }).setIssuer(issuer).setExpirationTime('5m').encode();
    expect(await verifyAsAuthorizer(unsigned, keys, expected)).toBeUndefined();
    const hmac = await new SignJWT({ aud: 'oauth-usage' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(issuer).setExpirationTime('5m').sign(new Uint8Array(32));
    expect(await verifyAsAuthorizer(hmac, keys, expected)).toBeUndefined();
  });

  it('throws when the keys cannot be fetched, so the caller answers 503 and not 401', async () => {
    const unreachable = () => Promise.reject(new TypeError('fetch failed'));
    await expect(verifyAsAuthorizer(await sign({ aud: 'oauth-usage' }), unreachable, expected)).rejects.toThrow('fetch failed');
  });
});
