import { afterEach, describe, expect, it, vi } from 'vitest';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/** RFC 7662 answers as resource-server libraries read them, and what a registration says of the token. */
const org = 'org-introspection';
const resourceServer = as(org, { sub: 'orders-api', scope: 'tokens:introspect' });
const authorizationServer = as(org, { sub: 'as', scope: 'tokens:write tokens:introspect' });
const ask = async (token: string, claims = resourceServer) => (await call('introspect', { claims, form: { token } })).body;
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const thumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

describe('POST /oauth2/introspect answers', () => {
  it('a bearer access token: token_type Bearer, token_use, iat from the registered issuedAt, aud and iss as registered', async () => {
    await createApp(org, 'orders');
    const token = rawToken();
    const issuedAt = new Date(Date.now() - 90_000).toISOString();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const reg = await register(org, {
      token, type: 'access', appId: 'orders', userId: 'ada', userName: 'Ada', scopes: ['orders:read'], issuedAt, expiresAt,
      audience: ['https://orders.example'], issuer: 'https://as.example',
    });
    expect(reg.status, reg.text).toBe(201);
    expect(reg.body.issuedAt).toBe(issuedAt);
    expect(await ask(token)).toEqual({
      active: true, scope: 'orders:read', client_id: 'orders', sub: 'ada', username: 'Ada', token_type: 'Bearer', token_use: 'access',
      exp: seconds(expiresAt), iat: seconds(issuedAt), aud: 'https://orders.example', iss: 'https://as.example',
    });
  });

  it('several audiences answer as an array; a DPoP-bound token is token_type DPoP with its cnf; an mTLS-bound one stays Bearer', async () => {
    await createApp(org, 'bound');
    const dpop = rawToken('dpop');
    await register(org, { token: dpop, type: 'access', appId: 'bound', userId: 'ada', audience: ['https://a.example', 'https://b.example'], cnf: { jkt: thumbprint } });
    expect(await ask(dpop)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: thumbprint }, aud: ['https://a.example', 'https://b.example'] });
    const mtls = rawToken('mtls');
    await register(org, { token: mtls, type: 'access', appId: 'bound', userId: 'ada', cnf: { 'x5t#S256': thumbprint } });
    const answer = await ask(mtls);
    expect(answer).toMatchObject({ active: true, token_type: 'Bearer', cnf: { 'x5t#S256': thumbprint } });
    expect(answer).not.toHaveProperty('aud');
    expect(answer).not.toHaveProperty('iss');
  });

  it('a refresh token is inactive to a resource server and active, without token_type, to the authorization server', async () => {
    await createApp(org, 'refresh');
    const refresh = rawToken('rt');
    await register(org, { token: refresh, type: 'refresh', appId: 'refresh', userId: 'ada' });
    expect(await ask(refresh)).toEqual({ active: false });
    const answer = await ask(refresh, authorizationServer);
    expect(answer).toMatchObject({ active: true, token_use: 'refresh', client_id: 'refresh', sub: 'ada' });
    expect(answer).not.toHaveProperty('token_type');
    // Only the AS's introspection was a use.
    const tokens = (await call('listUserTokens', { claims: as(org), path: { appId: 'refresh', userId: 'ada' } })).body.items ?? [];
    expect(tokens).toEqual([expect.objectContaining({ type: 'refresh', useCount: 1 })]);
  });
});

describe('POST /v1/tokens: what the authorization server says of a token', () => {
  it('caps an access token\'s lifetime from when it was issued, not from when it was registered', async () => {
    await createApp(org, 'capped', { policies: { accessTokenLifetimeMinutes: 10 } });
    const issuedAt = new Date(Date.now() - 4 * 60_000).toISOString();
    const reg = await register(org, { token: rawToken(), type: 'access', appId: 'capped', userId: 'ada', issuedAt });
    expect(reg.body.expiresAt).toBe(new Date(Date.parse(issuedAt) + 10 * 60_000).toISOString());
  });

  it.each([
    ['issuedAt', { issuedAt: new Date(Date.now() + 6 * 60_000).toISOString() }, 'body.issuedAt'],
    ['issuedAt', { issuedAt: new Date(Date.now() - 25 * 3_600_000).toISOString() }, 'body.issuedAt'],
    ['audience', { audience: [] }, 'body.audience'],
    ['audience', { audience: ['has space'] }, 'body.audience.0'],
    ['issuer', { issuer: 'not a url' }, 'body.issuer'],
    ['cnf', { cnf: {} }, 'body.cnf'],
    ['cnf', { cnf: { jkt: 'short' } }, 'body.cnf.jkt'],
    ['cnf', { cnf: { jkt: thumbprint, x5c: 'x' } }, 'body.cnf.x5c'],
  ])('refuses a bad %s with a 400 naming it (%j)', async (_field, extra, path) => {
    await createApp(org, 'bad-fields').catch(() => undefined);
    const reply = await register(org, { token: rawToken(), type: 'access', appId: 'bad-fields', userId: 'ada', ...extra });
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.errors).toEqual([expect.objectContaining({ path })]);
  });
});

describe('POST /oauth2/introspect verifying its bearer callers itself', () => {
  afterEach(() => {
    delete process.env.JWT_JWKS_URL;
    vi.resetModules();
  });

  it('a bad bearer token: 401 with RFC 6750\'s invalid_token challenge; the identity provider\'s keys out of reach: 503 temporarily_unavailable', async () => {
    const bad = await call('introspect', { headers: { authorization: 'Bearer not-a-jwt' }, form: { token: 'whatever' } });
    expect([bad.status, bad.body.error, bad.headers['www-authenticate']]).toEqual([401, 'invalid_token', 'Bearer error="invalid_token"']);
    const none = await call('introspect', { form: { token: 'whatever' } });
    expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Bearer']);

    // A fresh container whose identity provider's key endpoint is down.
    process.env.JWT_JWKS_URL = 'http://127.0.0.1:9/jwks.json';
    vi.resetModules();
    const fresh = await import('../support/api.js');
    const down = await fresh.call('introspect', { claims: resourceServer, form: { token: 'whatever' } });
    expect([down.status, down.body.error, down.headers['retry-after']]).toEqual([503, 'temporarily_unavailable', expect.any(String)]);
  });
});

