import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, call } from '../support/api.js';
import { epoch, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';

/**
 * JWT access tokens of trusted issuers (contract section 9), shaped as each vendor documents them,
 * signed by keys the test serves on loopback: learned at their first introspection, then tokens
 * like any other; anything not a valid access token of the issuer is inactive, never an error.
 */
const org = 'org-learned';
const admin = as(org, { sub: 'admin@org-learned' });
const resourceServer = as(org, { sub: 'orders-api', scope: 'tokens:introspect' });
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
});
afterAll(async () => idp.close());

const trust = async (issuerId: string, body: Record<string, unknown>) => {
  const answer = await call('trustIssuer', { claims: admin, path: { issuerId }, json: { issuer: idp.issuer(issuerId), jwksUri: idp.jwksUri(issuerId), ...body } });
  expect(answer.status, answer.text).toBe(201);
};
const introspect = async (token: string, claims = resourceServer) => {
  const answer = await call('introspect', { claims, form: { token } });
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
};
const app = async (appId: string) => (await call('getApp', { claims: admin, path: { appId } })).body;
const usersOf = async (appId: string) => (await call('listAppUsers', { claims: admin, path: { appId } })).body.items as Record<string, unknown>[];
const tokensOf = async (appId: string, userId: string) => (await call('listUserTokens', { claims: admin, path: { appId, userId } })).body.items as Record<string, unknown>[];

describe('a JWT of a trusted issuer, presented to introspection', () => {
  it('Okta: learned on first sight (its app created, named by its client id), then counted and used like a registered token', async () => {
    await trust('okta', { preset: 'okta', audiences: ['api://default'] });
    const iat = epoch();
    const jwt = await idp.sign({
      ver: 1, jti: 'AT.okta-1', iss: idp.issuer('okta'), aud: 'api://default', iat, exp: iat + 3600,
      cid: '0oa1okta', uid: '00u1ada', scp: ['openid', 'orders:read'], sub: 'ada@example.com', auth_time: iat,
    });
    expect(await introspect(jwt)).toEqual({
      active: true, client_id: '0oa1okta', sub: '00u1ada', username: 'ada@example.com', scope: 'openid orders:read', token_type: 'Bearer', token_use: 'access',
      exp: iat + 3600, iat, aud: 'api://default', iss: idp.issuer('okta'),
    });
    expect(await app('0oa1okta')).toMatchObject({ name: '0oa1okta', userCount: 1, activeTokenCount: 1 });
    expect((await introspect(jwt)).active).toBe(true);
    expect(await usersOf('0oa1okta')).toEqual([expect.objectContaining({ userId: '00u1ada', userName: 'ada@example.com', useCount: 2, activeTokenCount: 1 })]);
    const [token] = await tokensOf('0oa1okta', '00u1ada');
    expect(token).toMatchObject({ type: 'access', scopes: ['openid', 'orders:read'], useCount: 2, issuedAt: new Date(iat * 1000).toISOString() });
    expect((await call('getIssuer', { claims: admin, path: { issuerId: 'okta' } })).body).toMatchObject({ learnedTokenCount: 1, lastUsedAt: expect.any(String) });
    const created = ((await call('listAuditEvents', { claims: admin, query: { appId: '0oa1okta' } })).body.items as { action: string; actor: { kind: string } }[]);
    expect(created.map((e) => [e.action, e.actor.kind])).toEqual([['app.created', 'system']]);

    // Okta's client-credentials token: no `uid` (its `sub` is the client): the app's own token.
    const m2m = await idp.sign({ jti: 'AT.okta-2', iss: idp.issuer('okta'), aud: 'api://default', iat, exp: iat + 3600, cid: '0oa1okta', sub: '0oa1okta', scp: ['orders:read'] });
    expect(await introspect(m2m)).toMatchObject({ active: true, client_id: '0oa1okta', scope: 'orders:read' });
    expect(await introspect(m2m)).not.toHaveProperty('sub');
    expect(await app('0oa1okta')).toMatchObject({ userCount: 1, activeTokenCount: 2 });
    expect((await call('listClientTokens', { claims: admin, path: { appId: '0oa1okta' } })).body.items).toHaveLength(1);
  });

  it('Auth0 (no jti: keyed by the token\'s hash), Cognito (token_use tells an access token; its ID token is refused), Entra ID (oid, scp, uti) and Keycloak', async () => {
    const iat = epoch();
    await trust('auth0', { preset: 'auth0', audiences: ['https://orders.example'] });
    const auth0 = await idp.sign({ iss: idp.issuer('auth0'), sub: 'auth0|ada', aud: ['https://orders.example', 'https://tenant.auth0.com/userinfo'], azp: 'auth0client', scope: 'openid orders:read', iat, exp: iat + 600 });
    expect(await introspect(auth0)).toMatchObject({ active: true, client_id: 'auth0client', sub: 'auth0|ada', scope: 'openid orders:read', aud: ['https://orders.example', 'https://tenant.auth0.com/userinfo'] });
    expect((await introspect(auth0)).active).toBe(true);
    expect(await app('auth0client')).toMatchObject({ userCount: 1, activeTokenCount: 1 });
    const auth0m2m = await idp.sign({ iss: idp.issuer('auth0'), sub: 'auth0client@clients', aud: 'https://orders.example', azp: 'auth0client', gty: 'client-credentials', scope: 'orders:read', iat, exp: iat + 600 });
    expect(await introspect(auth0m2m)).not.toHaveProperty('sub');
    // Its RFC 9068 token profile names the client in client_id (no azp, no gty).
    const profile = { iss: idp.issuer('auth0'), aud: 'https://orders.example', client_id: 'auth0client', scope: 'orders:read', iat, exp: iat + 600 };
    expect(await introspect(await idp.sign({ ...profile, sub: 'auth0|bob', jti: 'a0-9068-1' }, { typ: 'at+jwt' }))).toMatchObject({ active: true, client_id: 'auth0client', sub: 'auth0|bob' });
    const profileM2m = await introspect(await idp.sign({ ...profile, sub: 'auth0client@clients', jti: 'a0-9068-2' }, { typ: 'at+jwt' }));
    expect(profileM2m).toMatchObject({ active: true, client_id: 'auth0client' });
    expect(profileM2m).not.toHaveProperty('sub');

    await trust('cognito', { preset: 'cognito' });
    const cognito = { iss: idp.issuer('cognito'), sub: '6f1c-ada', client_id: 'cognitoclient', token_use: 'access', scope: 'aws.cognito.signin.user.admin', username: 'ada', jti: 'cog-1', iat, exp: iat + 600 };
    expect(await introspect(await idp.sign(cognito))).toMatchObject({ active: true, client_id: 'cognitoclient', sub: '6f1c-ada', username: 'ada' });
    const idToken = await idp.sign({ ...cognito, token_use: 'id', aud: 'cognitoclient', jti: 'cog-id-1', email: 'ada@example.com' });
    expect(await introspect(idToken)).toEqual({ active: false });

    await trust('entra', { preset: 'entra', audiences: ['api://orders'] });
    // Entra ID sets iat 5 minutes early.
    const entra = await idp.sign({ iss: idp.issuer('entra'), aud: 'api://orders', iat: iat - 300, nbf: iat - 300, exp: iat + 3600, azp: 'entraclient', oid: '8f0e-ada', preferred_username: 'ada@contoso.example', scp: 'Orders.Read Orders.Write', uti: 'entra-uti-1', tid: 'tenant', ver: '2.0' });
    expect(await introspect(entra)).toMatchObject({ active: true, client_id: 'entraclient', sub: '8f0e-ada', username: 'ada@contoso.example', scope: 'Orders.Read Orders.Write' });
    // Its app-only token (client credentials): no `scp`, its application permissions in `roles`, `oid` the service principal.
    const appOnly = await introspect(await idp.sign({ iss: idp.issuer('entra'), aud: 'api://orders', iat: iat - 300, exp: iat + 3600, azp: 'entraclient', oid: '5c2d-sp', sub: '5c2d-sp', roles: ['Orders.Read.All'], uti: 'entra-uti-2', tid: 'tenant', ver: '2.0' }));
    expect(appOnly).toMatchObject({ active: true, client_id: 'entraclient', scope: 'Orders.Read.All' });
    expect(appOnly).not.toHaveProperty('sub');
    // A delegated token that happens to carry no `scp` (only app roles) is still its user's: its `sub` is not its `oid`.
    const rolesOnly = await introspect(await idp.sign({ iss: idp.issuer('entra'), aud: 'api://orders', iat: iat - 300, exp: iat + 3600, azp: 'entraclient', oid: '8f0e-ada', sub: 'pairwise-ada', roles: ['Orders.Admin'], uti: 'entra-uti-3', tid: 'tenant', ver: '2.0' }));
    expect(rolesOnly).toMatchObject({ active: true, sub: '8f0e-ada' });

    await trust('keycloak', { preset: 'keycloak', audiences: ['orders'] });
    const keycloak = { iss: idp.issuer('keycloak'), aud: 'orders', azp: 'portal', sub: 'f:kc-ada', preferred_username: 'ada', scope: 'openid profile', typ: 'Bearer', jti: 'kc-1', iat, exp: iat + 300 };
    expect(await introspect(await idp.sign(keycloak))).toMatchObject({ active: true, client_id: 'portal', sub: 'f:kc-ada', username: 'ada' });
    const serviceAccount = await idp.sign({ ...keycloak, jti: 'kc-2', sub: 'service-account-portal', preferred_username: 'service-account-portal', client_id: 'portal' });
    expect(await introspect(serviceAccount)).not.toHaveProperty('sub');
    expect(await app('portal')).toMatchObject({ userCount: 1, activeTokenCount: 2 });
    // Trusted with the client's own id among the audiences (a client that is its own resource server): its ID
    // token, whose audience is that client, says typ: ID in its payload and is never an access token.
    await trust('keycloak-self', { preset: 'keycloak', audiences: ['portal'] });
    const own = { iss: idp.issuer('keycloak-self'), aud: 'portal', azp: 'portal', sub: 'f:kc-ada', preferred_username: 'ada', iat, exp: iat + 300 };
    expect(await introspect(await idp.sign({ ...own, typ: 'ID', jti: 'kc-id-1', email: 'ada@example.com' }))).toEqual({ active: false });
    expect(await introspect(await idp.sign({ ...own, typ: 'Refresh', jti: 'kc-rt-1' }))).toEqual({ active: false });
    expect((await introspect(await idp.sign({ ...own, typ: 'Bearer', scope: 'openid', jti: 'kc-at-1' }))).active).toBe(true);
  });

  it('is inactive, never an error, for every token that is not a valid access token of the trusted issuer', async () => {
    await trust('rfc9068', {});
    const iat = epoch();
    const good = { iss: idp.issuer('rfc9068'), sub: 'ada', client_id: 'rfcclient', scope: 'read', jti: 'rfc-good', iat, exp: iat + 600 };
    expect((await introspect(await idp.sign(good, { typ: 'at+jwt' }))).active).toBe(true);
    const other = await startTestIssuer();
    try {
      const refused = {
        'an issuer the org does not trust': await idp.sign({ ...good, jti: 'r1', iss: idp.issuer('untrusted') }, { typ: 'at+jwt' }),
        'a signature by another key': await other.sign({ ...good, jti: 'r2' }, { typ: 'at+jwt', kid: 'key-1' }),
        'an ID token (no at+jwt, no audiences to tell it)': await idp.sign({ ...good, jti: 'r3' }),
        'no exp': await idp.sign({ ...good, jti: 'r4', exp: undefined }, { typ: 'at+jwt' }),
        'a past exp': await idp.sign({ ...good, jti: 'r5', iat: iat - 7200, exp: iat - 3600 }, { typ: 'at+jwt' }),
        'no iat': await idp.sign({ ...good, jti: 'r6', iat: undefined }, { typ: 'at+jwt' }),
        'an iat two minutes ahead': await idp.sign({ ...good, jti: 'r7', iat: iat + 120 }, { typ: 'at+jwt' }),
        'a future nbf': await idp.sign({ ...good, jti: 'r8', nbf: iat + 600 }, { typ: 'at+jwt' }),
        'no client id': await idp.sign({ ...good, jti: 'r9', client_id: undefined }, { typ: 'at+jwt' }),
        'a user id that is no id': await idp.sign({ ...good, jti: 'r10', sub: 'has space' }, { typ: 'at+jwt' }),
        'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...good, jti: 'r11' })).toString('base64url')}.`,
        'a symmetric algorithm': `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'key-1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...good, jti: 'r12' })).toString('base64url')}.c2lnbmF0dXJl`,
        'a tampered payload': (await idp.sign({ ...good, jti: 'r13' }, { typ: 'at+jwt' })).replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ ...good, jti: 'r13', scope: 'admin' })).toString('base64url')}.`),
      };
      for (const [what, token] of Object.entries(refused)) expect(await introspect(token), what).toEqual({ active: false });
    } finally {
      await other.close();
    }
    await trust('audienced', { audiences: ['https://orders.example'] });
    const wrongAudience = await idp.sign({ ...good, iss: idp.issuer('audienced'), jti: 'r14', aud: 'https://billing.example' }, { typ: 'at+jwt' });
    expect(await introspect(wrongAudience)).toEqual({ active: false });
    // Nothing refused was learned.
    expect(await app('rfcclient')).toMatchObject({ userCount: 1, activeTokenCount: 1 });
  });

  it('a learned token is revoked by its id, with its user, and goes inactive once its issuer is no longer trusted', async () => {
    await trust('revoked', { audiences: ['api'] });
    const iat = epoch();
    const sign = (jti: string, sub = 'ada') => idp.sign({ iss: idp.issuer('revoked'), aud: 'api', sub, client_id: 'revokedclient', jti, iat, exp: iat + 600 });
    const [one, two, bob] = await Promise.all([sign('one'), sign('two'), sign('bob-1', 'bob')]);
    for (const jwt of [one, two, bob]) expect((await introspect(jwt)).active).toBe(true);
    const listed = await tokensOf('revokedclient', 'ada');
    expect(listed).toHaveLength(2);
    const first = listed.find((t) => t.useCount === 1 && t.tokenId) as { tokenId: string };
    expect((await call('revokeToken', { claims: admin, path: { appId: 'revokedclient', userId: 'ada', tokenId: first.tokenId } })).status).toBe(204);
    const stillActive = [await introspect(one), await introspect(two)].filter((a) => a.active);
    expect(stillActive).toHaveLength(1);
    expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'revokedclient', userId: 'ada' } })).status).toBe(202);
    expect(await introspect(one)).toEqual({ active: false });
    expect(await introspect(two)).toEqual({ active: false });
    expect((await introspect(bob)).active).toBe(true);
    expect((await call('distrustIssuer', { claims: admin, path: { issuerId: 'revoked' } })).status).toBe(204);
    expect(await introspect(bob)).toEqual({ active: false });
  });

  it('RFC 7009 of a learned JWT revokes the learned token; of one never seen, remembers it under its issuer and id too', async () => {
    await trust('rfc7009', { audiences: ['api'] });
    const iat = epoch();
    const sign = (jti: string) => idp.sign({ iss: idp.issuer('rfc7009'), aud: 'api', sub: 'ada', client_id: 'rfc7009client', jti, iat, exp: iat + 600 });
    const revoke = async (token: string) => expect((await call('revoke', { claims: admin, form: { token } })).status).toBe(200);
    const seen = await sign('seen-1');
    expect((await introspect(seen)).active).toBe(true);
    await revoke(seen);
    expect(await introspect(seen)).toEqual({ active: false });
    expect(await app('rfc7009client')).toMatchObject({ userCount: 0, activeTokenCount: 0 });
    const unseen = await sign('unseen-1');
    await revoke(unseen);
    expect(await introspect(unseen)).toEqual({ active: false });
    const again = await call('registerToken', { claims: admin, json: { issuer: idp.issuer('rfc7009'), jti: 'unseen-1', type: 'access', appId: 'rfc7009client', userId: 'ada' } });
    expect([again.status, again.body.type]).toEqual([409, 'urn:oauth-usage:problem:token-revoked']);
  });

  it('learns a token presented many times at once exactly once', async () => {
    await trust('racing', { audiences: ['api'] });
    const iat = epoch();
    const jwt = await idp.sign({ iss: idp.issuer('racing'), aud: 'api', sub: 'ada', client_id: 'racingclient', jti: 'race-1', iat, exp: iat + 600 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => introspect(jwt)));
    expect(answers.every((a) => a.active === true)).toBe(true);
    expect(await app('racingclient')).toMatchObject({ userCount: 1, activeTokenCount: 1 });
    expect(await usersOf('racingclient')).toEqual([expect.objectContaining({ useCount: 6 })]);
  });

  it('fetches an issuer\'s keys once for many tokens, again for a new kid after the 30 s cooldown, and answers inactive at once while its keys endpoint fails', async () => {
    await trust('keys', { audiences: ['api'] });
    const iat = epoch();
    const sign = (jti: string, kid?: string) => idp.sign({ iss: idp.issuer('keys'), aud: 'api', sub: 'ada', client_id: 'keysclient', jti, iat, exp: iat + 7200 }, kid ? { kid } : {});
    const before = idp.fetches;
    for (const n of [1, 2, 3, 4, 5]) expect((await introspect(await sign(`k${n}`))).active).toBe(true);
    expect(idp.fetches - before).toBe(1);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      // A rollover: a token signed by a key the cached set lacks. Within 30 s of the last fetch it is not fetched again.
      const kid = await idp.addKey('ES256');
      const rolled = await sign('k6', kid);
      expect((await introspect(rolled)).active).toBe(false);
      expect(idp.fetches - before).toBe(1);
      vi.advanceTimersByTime(31_000);
      expect((await introspect(rolled)).active).toBe(true);
      expect(idp.fetches - before).toBe(2);
      // The keys endpoint fails once the cached keys are 10 minutes old: inactive, and not asked again for 30 s.
      idp.misbehave = (respond) => respond(503, '{}');
      vi.advanceTimersByTime(10 * 60_000 + 1);
      for (const n of [7, 8, 9]) expect(await introspect(await sign(`k${n}`))).toEqual({ active: false });
      expect(idp.fetches - before).toBe(3);
      idp.misbehave = undefined;
      vi.advanceTimersByTime(31_000);
      expect((await introspect(await sign('k10'))).active).toBe(true);
      expect(idp.fetches - before).toBe(4);
      // Once the issuer drops a key, the tokens it signed go inactive at the next fetch.
      idp.dropKey(kid);
      vi.advanceTimersByTime(10 * 60_000 + 1);
      expect(await introspect(rolled)).toEqual({ active: false });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('registration by token id (an authorization server that knows only ids)', () => {
  const register = (json: unknown) => call('registerToken', { claims: admin, json });

  it('registers a JWT of a trusted issuer by issuer and jti: the JWT presented later is that token; revoked by its id before it is ever presented, it stays inactive', async () => {
    await trust('by-id', { preset: 'keycloak', audiences: ['orders'] });
    expect((await call('createApp', { claims: admin, json: { appId: 'kcportal', name: 'Portal' } })).status).toBe(201);
    const iat = epoch();
    const claims = { iss: idp.issuer('by-id'), aud: 'orders', azp: 'kcportal', sub: 'ada', preferred_username: 'ada', scope: 'openid', typ: 'Bearer', iat, exp: iat + 600 };
    const registered = await register({ issuer: idp.issuer('by-id'), jti: 'kc-event-1', type: 'access', appId: 'kcportal', userId: 'ada', userName: 'Ada', scopes: ['openid'], expiresAt: new Date((iat + 600) * 1000).toISOString() });
    expect(registered.status, registered.text).toBe(201);
    expect(await app('kcportal')).toMatchObject({ userCount: 1, activeTokenCount: 1 });
    expect((await register({ issuer: idp.issuer('by-id'), jti: 'kc-event-1', type: 'access', appId: 'kcportal', userId: 'ada', scopes: ['openid'], expiresAt: new Date((iat + 600) * 1000).toISOString() })).status).toBe(200);
    expect(await introspect(await idp.sign({ ...claims, jti: 'kc-event-1' }))).toMatchObject({ active: true, client_id: 'kcportal', sub: 'ada', username: 'Ada' });
    expect(await app('kcportal')).toMatchObject({ userCount: 1, activeTokenCount: 1 }); // the same token, not a second
    expect(await tokensOf('kcportal', 'ada')).toEqual([expect.objectContaining({ tokenId: registered.body.tokenId, useCount: 1 })]);

    const second = await register({ issuer: idp.issuer('by-id'), jti: 'kc-event-2', type: 'access', appId: 'kcportal', userId: 'ada' });
    expect((await call('revokeToken', { claims: admin, path: { appId: 'kcportal', userId: 'ada', tokenId: second.body.tokenId as string } })).status).toBe(204);
    expect(await introspect(await idp.sign({ ...claims, jti: 'kc-event-2' }))).toEqual({ active: false });
    // The JWT must be what was registered: another user's claims under the same id are not that token.
    const third = await register({ issuer: idp.issuer('by-id'), jti: 'kc-event-3', type: 'access', appId: 'kcportal', userId: 'ada' });
    expect(third.status).toBe(201);
    expect(await introspect(await idp.sign({ ...claims, sub: 'mallory', jti: 'kc-event-3' }))).toEqual({ active: false });
  });

  it('names the field it refuses: an untrusted issuer, jti without issuer, neither token nor jti, both, a refresh token by id', async () => {
    const base = { type: 'access', appId: 'kcportal', userId: 'ada' };
    const refused = async (json: Record<string, unknown>) => {
      const answer = await register({ ...base, ...json });
      expect(answer.status, answer.text).toBe(400);
      return [answer.body.type, (answer.body.errors as { path: string }[]).map((e) => e.path)];
    };
    expect(await refused({ issuer: 'https://untrusted.example/', jti: 'x1' })).toEqual(['urn:oauth-usage:problem:issuer-not-trusted', ['body.issuer']]);
    expect(await refused({ jti: 'x2' })).toEqual(['urn:oauth-usage:problem:validation-error', ['body.issuer']]);
    expect(await refused({})).toEqual(['urn:oauth-usage:problem:validation-error', ['body.token']]);
    expect(await refused({ token: 'raw-token-value-0123456789', issuer: idp.issuer('by-id'), jti: 'x3' })).toEqual(['urn:oauth-usage:problem:validation-error', ['body.jti']]);
    expect(await refused({ type: 'refresh', issuer: idp.issuer('by-id'), jti: 'x4' })).toEqual(['urn:oauth-usage:problem:validation-error', ['body.type']]);
  });
});

describe('revocations of learned tokens by time', () => {
  it('a user, Bulk Revoke or app revocation takes tokens issued before it that were never seen; one issued over 60 s after it lives', async () => {
    await trust('timed', { audiences: ['api'] });
    await trust('timed-entra', { preset: 'entra', audiences: ['api'] });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const revokedAt = epoch();
      const sign = (issuerId: string, claims: Record<string, unknown>) => idp.sign({ iss: idp.issuer(issuerId), aud: 'api', client_id: 'timedclient', azp: 'timedclient', exp: revokedAt + 3600, ...claims });
      // Tokens issued before the revocations, presented only after them.
      const beforeBulk = await sign('timed', { sub: 'ada', jti: 't1', iat: revokedAt - 10 });
      const beforeUser = await sign('timed', { sub: 'bob', jti: 't2', iat: revokedAt - 10 });
      expect((await call('createApp', { claims: admin, json: { appId: 'timedclient', name: 'Timed' } })).status).toBe(201);
      expect((await call('requestRevocation', { claims: admin, path: { appId: 'timedclient' }, json: { userIds: ['ada', 'carol'] } })).status).toBe(202);
      expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'timedclient', userId: 'bob' } })).status).toBe(202);
      expect(await usersOf('timedclient')).toEqual([]); // the rows holding only watermarks are listed nowhere
      vi.advanceTimersByTime(3 * 60_000);
      expect(await introspect(beforeBulk)).toEqual({ active: false });
      expect(await introspect(beforeUser)).toEqual({ active: false });
      // Within the minute after the revocation the issuer's clock is not trusted: revoked too. After it: a new token.
      expect(await introspect(await sign('timed', { sub: 'carol', jti: 't3', iat: revokedAt + 30 }))).toEqual({ active: false });
      expect((await introspect(await sign('timed', { sub: 'carol', jti: 't4', iat: revokedAt + 90 }))).active).toBe(true);
      // Entra ID's iat is 5 minutes early: a token it issued 100 s after the revocation says iat = revocation − 200 s, and lives.
      expect((await introspect(await sign('timed-entra', { oid: 'ada', scp: 'Orders.Read', uti: 'e1', iat: revokedAt + 100 - 300 }))).active).toBe(true);
      expect(await introspect(await sign('timed-entra', { oid: 'ada', scp: 'Orders.Read', uti: 'e2', iat: revokedAt - 300 }))).toEqual({ active: false });

      // Every token of the app, by time too.
      const appRevokedAt = epoch();
      const beforeAll = await sign('timed', { sub: 'dave', jti: 't5', iat: appRevokedAt - 5 });
      expect((await call('requestRevocation', { claims: admin, path: { appId: 'timedclient' }, json: { all: true } })).status).toBe(202);
      vi.advanceTimersByTime(2 * 60_000);
      expect(await introspect(beforeAll)).toEqual({ active: false });
      expect((await introspect(await sign('timed', { sub: 'dave', jti: 't6', iat: appRevokedAt + 70 }))).active).toBe(true);
      expect(await app('timedclient')).toMatchObject({ userCount: 1, activeTokenCount: 1 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('fetching an issuer\'s keys', () => {
  it('follows no redirect, reads at most 256 KiB, and fetches only https or loopback http (as the service runs locally)', async () => {
    const { guardedFetch, MAX_JWKS_BYTES } = await import('../../shared/jwks.js');
    idp.misbehave = (respond) => respond(302, '', { location: 'http://169.254.169.254/latest/meta-data/' });
    expect((await guardedFetch(idp.jwksUri('any'))).status).toBe(302);
    idp.misbehave = (respond) => respond(200, JSON.stringify({ keys: [], padding: 'x'.repeat(MAX_JWKS_BYTES) }));
    await expect(guardedFetch(idp.jwksUri('any'))).rejects.toThrow(/larger than/);
    idp.misbehave = undefined;
    expect((await guardedFetch(idp.jwksUri('any'))).status).toBe(200);
    await expect(guardedFetch('http://example.com/keys')).rejects.toThrow(/https only/);
    await expect(guardedFetch('https://10.0.0.8/keys')).rejects.toThrow(/does not fetch from/);
    await expect(guardedFetch('https://[fd00::1]/keys')).rejects.toThrow(/does not fetch from/);
  });
});
