import { beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { recordRequests } from '../../bench/request-counter.js';

const org = 'org-tokens';
const appId = 'crm-sync';
/** A whole-second time some years ahead (expiresAt may be at most ten years ahead). */
const inYears = (years: number) => new Date(Math.floor((Date.now() + years * 365 * 86_400_000) / 1000) * 1000).toISOString();
const grace = inYears(5);

beforeAll(async () => {
  await createApp(org, appId);
});

const usersOf = async (userId: string) =>
  (await call('listUserTokens', { claims: as(org), path: { appId, userId } })).body;
const appCounts = async (id = appId) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId: id } });
  return { userCount: body.userCount, activeTokenCount: body.activeTokenCount };
};

describe('POST /v1/tokens', () => {
  it('registers a token (201) and answers a re-registration with 200 and the same body', async () => {
    const token = rawToken();
    const body = { token, type: 'access', appId, userId: 'ada@example.com', userName: 'Ada Lovelace', scopes: ['api'] };
    const first = await register(org, body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      tokenId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), type: 'access', appId, userId: 'ada@example.com',
      issuedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), expiresAt: null,
    });
    const again = await register(org, body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it('refuses the same raw token for another user or app with 409', async () => {
    await createApp(org, 'other-app');
    const token = rawToken();
    expect((await register(org, { token, type: 'access', appId, userId: 'u1' })).status).toBe(201);
    const otherUser = await register(org, { token, type: 'access', appId, userId: 'u2' });
    expect(otherUser.status).toBe(409);
    expect(otherUser.headers['content-type']).toBe('application/problem+json');
    expect(otherUser.body.type).toMatch(/conflict$/);
    expect((await register(org, { token, type: 'access', appId: 'other-app', userId: 'u1' })).status).toBe(409);
  });

  it('answers 404 for an unknown app, and for an app of another org', async () => {
    const unknown = await register(org, { token: rawToken(), type: 'access', appId: 'no-such-app', userId: 'u1' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toMatch(/not-found$/);
    const foreign = await call('registerToken', { claims: as('org-elsewhere'), json: { token: rawToken(), type: 'access', appId, userId: 'u1' } });
    expect(foreign.status).toBe(404);
  });

  it('counts users and tokens exactly', async () => {
    await createApp(org, 'counted');
    const before = await appCounts('counted');
    expect(before).toEqual({ userCount: 0, activeTokenCount: 0 });
    await Promise.all([
      register(org, { token: rawToken(), type: 'access', appId: 'counted', userId: 'x' }),
      register(org, { token: rawToken(), type: 'refresh', appId: 'counted', userId: 'x' }),
      register(org, { token: rawToken(), type: 'access', appId: 'counted', userId: 'y' }),
    ]);
    expect(await appCounts('counted')).toEqual({ userCount: 2, activeTokenCount: 3 });
  });

  it('keeps counts exact under concurrent registrations and revocations of the same users', async () => {
    await createApp(org, 'busy');
    const users = ['p', 'q', 'r'];
    const tokens = Array.from({ length: 24 }, (_, i) => ({ raw: rawToken('busy'), userId: users[i % 3] as string }));
    const replies = await Promise.all(tokens.map((t) => register(org, { token: t.raw, type: 'access', appId: 'busy', userId: t.userId })));
    expect(replies.map((r) => r.status)).toEqual(tokens.map(() => 201));
    expect(await appCounts('busy')).toEqual({ userCount: 3, activeTokenCount: 24 });

    // Every token of user p, and two of q, revoked concurrently.
    const doomed = tokens.filter((t, i) => t.userId === 'p' || (t.userId === 'q' && i < 7));
    await Promise.all(doomed.map((t) => call('revoke', { claims: as(org), form: { token: t.raw } })));
    expect(await appCounts('busy')).toEqual({ userCount: 2, activeTokenCount: 24 - doomed.length });
    const live = await Promise.all(tokens.map(async (t) => (await introspect(org, t.raw)).body.active));
    expect(live).toEqual(tokens.map((t) => !doomed.includes(t)));
  });

  it('caps an access token at the app’s accessTokenLifetimeMinutes and expires a refresh token at once under expire-immediately', async () => {
    await createApp(org, 'strict', { policies: { accessTokenLifetimeMinutes: 30, refreshTokenPolicy: { mode: 'expire-immediately' } } });
    const access = await register(org, { token: rawToken(), type: 'access', appId: 'strict', userId: 'u', expiresAt: inYears(5) });
    expect(access.status).toBe(201);
    expect(Date.parse(access.body.expiresAt as string) - Date.parse(access.body.issuedAt as string)).toBe(30 * 60_000);
    const refreshValue = rawToken();
    const refresh = await register(org, { token: refreshValue, type: 'refresh', appId: 'strict', userId: 'u' });
    expect(refresh.status).toBe(201);
    expect(refresh.body.expiresAt).toBe(refresh.body.issuedAt);
    const again = await register(org, { token: refreshValue, type: 'refresh', appId: 'strict', userId: 'u' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(refresh.body);
    expect((await introspect(org, refreshValue)).body).toEqual({ active: false });
  });

  it('normalises expiresAt to UTC with milliseconds and refuses one in the past', async () => {
    const utc = inYears(5);
    const ok = await register(org, { token: rawToken(), type: 'access', appId, userId: 'u', expiresAt: utc.replace(/\.\d{3}Z$/, '+02:00') });
    expect(ok.body.expiresAt).toBe(new Date(Date.parse(utc) - 2 * 3_600_000).toISOString());
    const past = await register(org, { token: rawToken(), type: 'access', appId, userId: 'u', expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.errors).toEqual([{ path: 'body.expiresAt', message: 'must be in the future' }]);
  });

  it.each([
    [{ type: 'access', appId, userId: 'u' }, 'body.token'],
    [{ token: 'short', type: 'access', appId, userId: 'u' }, 'body.token'],
    [{ token: 'x'.repeat(20), type: 'bearer', appId, userId: 'u' }, 'body.type'],
    [{ token: 'x'.repeat(20), type: 'access', appId: 'bad#id', userId: 'u' }, 'body.appId'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: 'has space' }, 'body.userId'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: '' }, 'body.userId'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: 'u', scopes: 'api' }, 'body.scopes'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: 'u', expiresAt: 'tomorrow' }, 'body.expiresAt'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: 'u', refreshTokenId: 'nope' }, 'body.refreshTokenId'],
    [{ token: 'x'.repeat(20), type: 'access', appId, userId: 'u', extra: true }, 'body.extra'],
  ])('answers 400 problem+json naming the field for %j', async (body, path) => {
    const reply = await register(org, body);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(reply.body).toMatchObject({ type: expect.stringMatching(/validation-error$/), status: 400 });
    expect((reply.body.errors as { path: string }[]).map((e) => e.path)).toContain(path);
  });

  it('answers 400 for malformed JSON and for a wrong content type, 413 for a body over 64 KiB', async () => {
    const malformed = await call('registerToken', { claims: as(org), raw: '{"token":', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([{ path: 'body', message: 'is not well-formed' }]);
    const wrongType = await call('registerToken', { claims: as(org), raw: 'token=x', contentType: 'text/plain' });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body.errors as { path: string }[])[0]?.path).toBe('headers.content-type');
    const huge = await call('registerToken', { claims: as(org), json: { token: 'x'.repeat(70 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body.type).toMatch(/payload-too-large$/);
    // A route that reads no body refuses a large one all the same (contract: any body over 64 KiB).
    const hugeOnDelete = await call('revokeUserTokens', { claims: as(org), path: { appId: 'nowhere', userId: 'u' }, raw: 'x'.repeat(70 * 1024), contentType: 'text/plain' });
    expect(hugeOnDelete.status).toBe(413);
  });

  it('requires tokens:write (403 insufficient-scope) and a supported edition (403 edition-not-supported)', async () => {
    const body = { token: rawToken(), type: 'access', appId, userId: 'u' };
    const noScope = await call('registerToken', { claims: as(org, { scope: 'usage:read apps:manage' }), json: body });
    expect(noScope.status).toBe(403);
    expect(noScope.body.type).toMatch(/insufficient-scope$/);
    for (const edition of ['Essentials', 'Group', '']) {
      const reply = await call('registerToken', { claims: as(org, { org_edition: edition }), json: body });
      expect(reply.status).toBe(403);
      expect(reply.body.type).toMatch(/edition-not-supported$/);
    }
    const noEdition = await call('registerToken', { claims: { sub: 'a', org_id: org, scope: 'tokens:write' }, json: body });
    expect(noEdition.body.type).toMatch(/edition-not-supported$/);
  });

  it('answers 401 when the authorizer passed no tenant', async () => {
    const reply = await call('registerToken', { claims: { sub: 'a', org_edition: 'Developer', scope: 'tokens:write' }, json: {} });
    expect(reply.status).toBe(401);
  });
});

describe('POST /oauth2/introspect', () => {
  it('describes an active token (RFC 7662) and records each use', async () => {
    const token = rawToken();
    const reg = await register(org, { token, type: 'access', appId, userId: 'grace', userName: 'Grace Hopper', scopes: ['api', 'web'], expiresAt: grace });
    const first = await introspect(org, token);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      active: true, scope: 'api web', client_id: appId, sub: 'grace', username: 'Grace Hopper', token_type: 'Bearer', token_use: 'access',
      exp: Date.parse(grace) / 1000, iat: Math.floor(Date.parse(reg.body.issuedAt as string) / 1000),
    });
    await introspect(org, token);
    const tokens = await usersOf('grace');
    expect(tokens.items).toEqual([expect.objectContaining({ tokenId: reg.body.tokenId, useCount: 2, lastUsedAt: expect.any(String) })]);
    const app = await call('getApp', { claims: as(org), path: { appId } });
    expect(app.body.lastUsedAt).toEqual(expect.any(String));
  });

  it('answers exactly { active: false } for unknown, foreign-org and revoked tokens', async () => {
    expect((await introspect(org, rawToken('unknown'))).body).toEqual({ active: false });
    const token = rawToken();
    await register(org, { token, type: 'access', appId, userId: 'u' });
    const foreign = await call('introspect', { claims: as('org-elsewhere'), form: { token } });
    expect(foreign.text).toBe('{"active":false}');
    await call('revoke', { claims: as(org), form: { token } });
    expect((await introspect(org, token)).text).toBe('{"active":false}');
  });

  it('takes at most 2 sequential read round trips and 1 write round trip', async () => {
    const refresh = rawToken();
    const reg = await register(org, { token: refresh, type: 'refresh', appId, userId: 'rt-user' });
    const access = rawToken();
    await register(org, { token: access, type: 'access', appId, userId: 'rt-user', refreshTokenId: reg.body.tokenId });
    const counter = recordRequests(dynamo);
    try {
      const reply = await counter.during(() => introspect(org, access));
      expect(reply.body.active).toBe(true);
      expect(counter.commands()).toEqual(expect.arrayContaining(['GetItemCommand', 'BatchGetItemCommand', 'UpdateItemCommand']));
      expect(counter.readRoundTrips()).toBeLessThanOrEqual(2);
      expect(counter.writeRoundTrips()).toBeLessThanOrEqual(1);
      expect(counter.commands()).not.toContain('ScanCommand');
    } finally {
      counter.dispose();
    }
  });

  it('answers 400 invalid_request (RFC 6749 JSON) without a token, 403 insufficient_scope without tokens:introspect', async () => {
    const missing = await call('introspect', { claims: as(org), form: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('body.token') });
    const scope = await call('introspect', { claims: as(org, { scope: 'tokens:write' }), form: { token: 'abc' } });
    expect(scope.status).toBe(403);
    expect(scope.body.error).toBe('insufficient_scope');
  });
});

describe('POST /oauth2/revoke', () => {
  it('answers 200 with an empty body for an unknown token', async () => {
    const reply = await call('revoke', { claims: as(org), form: { token: rawToken('never-registered'), token_type_hint: 'access_token' } });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
  });

  it('revoking a refresh token revokes the access tokens registered from it, and the counts follow', async () => {
    await createApp(org, 'cascade');
    const refresh = rawToken('refresh');
    const reg = await register(org, { token: refresh, type: 'refresh', appId: 'cascade', userId: 'kim' });
    const children = [rawToken('a1'), rawToken('a2')];
    for (const token of children) {
      expect((await register(org, { token, type: 'access', appId: 'cascade', userId: 'kim', refreshTokenId: reg.body.tokenId })).status).toBe(201);
    }
    const unrelated = rawToken('unrelated');
    await register(org, { token: unrelated, type: 'access', appId: 'cascade', userId: 'kim' });
    expect(await appCounts('cascade')).toEqual({ userCount: 1, activeTokenCount: 4 });

    expect((await call('revoke', { claims: as(org), form: { token: refresh } })).status).toBe(200);
    for (const token of [refresh, ...children]) expect((await introspect(org, token)).body).toEqual({ active: false });
    expect((await introspect(org, unrelated)).body.active).toBe(true);
    expect(await appCounts('cascade')).toEqual({ userCount: 1, activeTokenCount: 1 });

    await call('revoke', { claims: as(org), form: { token: unrelated } });
    expect(await appCounts('cascade')).toEqual({ userCount: 0, activeTokenCount: 0 });
    // A revoked refresh token can be neither re-registered nor used as a parent.
    expect((await register(org, { token: refresh, type: 'refresh', appId: 'cascade', userId: 'kim' })).status).toBe(409);
    const orphan = await register(org, { token: rawToken(), type: 'access', appId: 'cascade', userId: 'kim', refreshTokenId: reg.body.tokenId });
    expect([orphan.status, orphan.body.type]).toEqual([409, 'urn:oauth-usage:problem:parent-token-inactive']);
  });

  it('does not revoke a token of another org', async () => {
    const token = rawToken();
    await register(org, { token, type: 'access', appId, userId: 'u' });
    expect((await call('revoke', { claims: as('org-elsewhere'), form: { token } })).status).toBe(200);
    expect((await introspect(org, token)).body.active).toBe(true);
  });
});
