import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, call } from '../support/api.js';
import { CLIENT_ID, startOidcProvider, type RunningProvider } from '../support/oidc-provider.js';

/**
 * A real oidc-provider issuing RFC 9068 JWT access tokens for a resource (RFC 8707 resource
 * indicators), trusted by the org with no preset and no code at the provider: its resource server
 * introspects the tokens its clients present through the service, which learns them, counts
 * them and revokes them.
 */
const org = 'org-oidc-provider';
const admin = as(org, { sub: 'admin@org-oidc-provider' });
const resource = 'https://orders.example';
const ordersApi = as(org, { sub: 'orders-api', scope: 'tokens:introspect' });
let op: RunningProvider;

beforeAll(async () => {
  op = await startOidcProvider({ resource, scope: 'orders:read' });
  expect((await call('trustIssuer', { claims: admin, path: { issuerId: 'oidc-provider' }, json: { issuer: op.issuer, jwksUri: op.jwksUri, audiences: [resource] } })).status).toBe(201);
  expect((await call('declareResourceServer', { claims: admin, path: { sub: 'orders-api' }, json: { name: 'Orders API', audience: resource } })).status).toBe(201);
});
afterAll(async () => op.close());

/** What the orders API asks the service about a token its caller presented. */
const introspect = async (token: string) => {
  const answer = await call('introspect', { claims: ordersApi, form: { token } });
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
};
const active = async (token: string) => (await introspect(token)).active;
const appOf = async () => (await call('getApp', { claims: admin, path: { appId: CLIENT_ID } })).body;

describe('a real oidc-provider, trusted as an issuer', () => {
  it('signs a user in (code + PKCE, resource indicator): the JWT its client presents is learned, with its app, user, scopes and audience', async () => {
    const { access_token: jwt, id_token: idToken, refresh_token: refreshToken } = await op.signIn('ada');
    expect(decodeProtectedHeader(jwt)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const claims = decodeJwt(jwt);
    expect(await introspect(jwt)).toEqual({
      active: true, client_id: CLIENT_ID, sub: 'ada', scope: 'orders:read', token_type: 'Bearer', token_use: 'access',
      exp: claims.exp, iat: claims.iat, aud: resource, iss: op.issuer,
    });
    expect(await appOf()).toMatchObject({ appId: CLIENT_ID, name: CLIENT_ID, userCount: 1, activeTokenCount: 1 });
    // The ID token is for the client, not the resource: never an access token. The refresh token is opaque: not the service's to learn.
    expect(await introspect(idToken as string)).toEqual({ active: false });
    expect(await introspect(refreshToken as string)).toEqual({ active: false });

    // A refresh grant issues a new JWT: another token of the same user.
    const refreshed = await op.refresh(refreshToken as string);
    expect(await introspect(refreshed.access_token)).toMatchObject({ active: true, sub: 'ada' });
    expect(await active(jwt)).toBe(true);
    const users = (await call('listAppUsers', { claims: admin, path: { appId: CLIENT_ID } })).body.items;
    expect(users).toEqual([expect.objectContaining({ userId: 'ada', activeTokenCount: 2, useCount: 3 })]);
  });

  it("a client-credentials token (RFC 9068: its sub is the client) is the app's own token", async () => {
    const { access_token: jwt } = await op.clientCredentials();
    expect(decodeJwt(jwt)).toMatchObject({ sub: CLIENT_ID, client_id: CLIENT_ID });
    const answer = await introspect(jwt);
    expect(answer).toMatchObject({ active: true, client_id: CLIENT_ID, scope: 'orders:read' });
    expect(answer).not.toHaveProperty('sub');
    const clientTokens = (await call('listClientTokens', { claims: admin, path: { appId: CLIENT_ID } })).body.items;
    expect(clientTokens).toEqual([expect.objectContaining({ type: 'access', learnedFrom: 'oidc-provider' })]);
    expect((await call('listAppUsers', { claims: admin, path: { appId: CLIENT_ID } })).body.items?.map((u) => u.userId)).toEqual(['ada']);
  });

  it("revokes by every path: a user's Revoke, RFC 7009 of one JWT, and every token of the app, each at once and leaving the rest alone", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const ada = await op.signIn('ada');
      const bob = await op.signIn('bob');
      const m2m = await op.clientCredentials();
      for (const t of [ada.access_token, bob.access_token, m2m.access_token]) expect(await active(t)).toBe(true);

      expect((await call('revokeUserTokens', { claims: admin, path: { appId: CLIENT_ID, userId: 'ada' } })).status).toBe(202);
      expect(await active(ada.access_token)).toBe(false);
      expect(await active(bob.access_token)).toBe(true);
      expect(await active(m2m.access_token)).toBe(true);
      // A token the provider issues in the minute after the revocation is revoked too (the issuer's clock is trusted to 60 s)…
      const soon = await op.signIn('ada');
      expect(await active(soon.access_token)).toBe(false);
      // …and one issued after it is a new sign-in, active.
      vi.setSystemTime(Date.now() + 61_000);
      const later = await op.refresh(soon.refresh_token as string);
      expect(await introspect(later.access_token)).toMatchObject({ active: true, sub: 'ada' });

      // The orders API's AS revokes bob's JWT at the service (RFC 7009).
      const asClient = as(org, { sub: 'as@org-oidc-provider', scope: 'tokens:write' });
      expect((await call('revoke', { claims: asClient, form: { token: bob.access_token } })).status).toBe(200);
      expect(await active(bob.access_token)).toBe(false);
      expect(await active(later.access_token)).toBe(true);

      expect((await call('requestRevocation', { claims: admin, path: { appId: CLIENT_ID }, json: { all: true } })).status).toBe(202);
      for (const t of [later.access_token, m2m.access_token]) expect(await active(t)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
