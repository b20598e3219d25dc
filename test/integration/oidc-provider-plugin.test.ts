import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type OAuthUsageClient, type Schemas } from '@oauth-usage/client';
import { oauthUsage } from '@oauth-usage/oidc-provider';
import { startLocalService, type LocalService } from '../support/local-service.js';
import { documentedFetch } from '../support/openapi.js';
import { startOidcProvider, type RunningProvider } from '../support/oidc-provider.js';

/**
 * A real oidc-provider with the OAuth Usage plug-in (integrations/oidc-provider) against `npm start`'s
 * stack, as an org would wire it: every token it issues is registered before its answer leaves,
 * refresh tokens are checked with the service, its own revocations are forwarded, and every
 * revocation an admin makes ends the grant at the provider too.
 */
const org = 'org-oidc-plugin';
const resource = 'https://orders.example';
const CONFIDENTIAL = 'orders-web';
const PUBLIC = 'orders-spa';
const OTHER = 'reports';
const BLOCKED = 'blocked-app';
let service: LocalService;
let base: string;
let op: RunningProvider;
let admin: OAuthUsageClient;
let ordersApi: OAuthUsageClient;
/** Every call the plug-in made to the service: `METHOD /path`. */
const pluginCalls: string[] = [];
/** While set, the network loses every registration the plug-in sends. */
let registrationsLost = false;
/** While above 0, that many registrations reach the service and their answers are lost on the way back. */
let answersLost = 0;
/** While set, the network loses these calls (`METHOD /path`) of the plug-in. */
const lost = new Set<string>();

const mint = (sub: string, scope: string) => service.mint({ sub, org_id: org, scope });

beforeAll(async () => {
  service = await startLocalService();
  base = service.url;
  admin = createClient({ baseUrl: base, token: () => mint('admin@example.com', 'usage:read apps:manage'), fetch: documentedFetch() });
  ordersApi = createClient({ baseUrl: base, token: () => mint('orders-api', 'tokens:introspect'), fetch: documentedFetch() });
  const usage = oauthUsage({
    baseUrl: base, token: () => mint('as@example.com', 'tokens:write tokens:introspect'), cacheSeconds: 0,
    fetch: (request) => {
      const call = `${request.method} ${new URL(request.url).pathname}`;
      pluginCalls.push(call);
      if ((call === 'POST /v1/tokens' && registrationsLost) || lost.has(call)) return Promise.reject(new TypeError('fetch failed'));
      if (call === 'POST /v1/tokens' && answersLost > 0) {
        answersLost -= 1;
        return fetch(request).then(() => Promise.reject(new TypeError('fetch failed')));
      }
      return documentedFetch()(request);
    },
  });
  op = await startOidcProvider({
    resource, scope: 'orders:read', wire: usage,
    clients: [{ client_id: CONFIDENTIAL, client_name: 'Orders web' }, { client_id: PUBLIC, public: true }, { client_id: OTHER }, { client_id: BLOCKED }],
    // Public clients rotate their refresh tokens, confidential ones keep theirs (oidc-provider's advice).
    rotateRefreshToken: (ctx) => ctx.oidc.client?.clientAuthMethod === 'none',
  });
});
afterAll(async () => {
  await op?.close();
  await service?.stop();
});

/** What the orders API learns about a token its caller presented. */
const introspect = (token: string) => ordersApi.POST('/oauth2/introspect', { body: { token } });
const active = async (token: string) => (await introspect(token)).active;
/** Calls the plug-in makes while `work` runs. */
async function callsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const from = pluginCalls.length;
  await work();
  return pluginCalls.slice(from);
}
/** The same, without the client's declaration and policies (read on every token request here: cacheSeconds 0). */
const tokenCallsDuring = async (work: () => Promise<unknown>) => (await callsDuring(work)).filter((c) => !/^(PUT \/v1\/apps\/[^/]+|GET \/v1\/apps\/[^/]+\/policies)$/.test(c));
/** The app's policies: the defaults, with `changes`. */
const setPolicies = (appId: string, changes: Partial<Schemas['AppPolicies']>) => admin.PUT('/v1/apps/{appId}/policies', {
  params: { path: { appId } },
  body: { refreshTokenPolicy: { mode: 'until-revoked' }, accessTokenLifetimeMinutes: null, permittedUsers: 'all-users-self-authorize', ipRelaxation: 'enforce', sessionTimeoutMinutes: null, refreshTokenReuseGraceSeconds: 0, ...changes },
});
const refreshRefused = async (refreshToken: string, client = CONFIDENTIAL) => {
  const answer = await op.tokenCall({ grant_type: 'refresh_token', refresh_token: refreshToken }, { client });
  return answer.status === 400 && answer.body.error === 'invalid_grant' && answer.body.access_token === undefined;
};

describe('the oidc-provider plug-in', () => {
  it('registers a code exchange (confidential client, PKCE) in one call before the answer leaves: the app is declared, the user named, the expiry told as the service applied it', async () => {
    let tokens!: Awaited<ReturnType<RunningProvider['signIn']>>;
    const calls = await callsDuring(async () => { tokens = await op.signIn('ada', { client: CONFIDENTIAL, resource: null }); });
    expect(calls.filter((c) => c === 'POST /v1/tokens')).toHaveLength(1);
    expect(calls).toContain(`PUT /v1/apps/${CONFIDENTIAL}`);
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, client_id: CONFIDENTIAL, sub: 'ada', username: 'User ada', token_type: 'Bearer', iss: op.issuer });
    // The refresh token is the provider's to check: a resource server never sees it active.
    expect(await active(tokens.refresh_token as string)).toBe(false);
    expect(await admin.GET('/v1/apps/{appId}', { params: { path: { appId: CONFIDENTIAL } } })).toMatchObject({ name: 'Orders web', callbackUrls: ['http://127.0.0.1/callback'], userCount: 1 });
    const [refresh, access] = (await admin.GET('/v1/apps/{appId}/users/{userId}/tokens', { params: { path: { appId: CONFIDENTIAL, userId: 'ada' } } })).items
      .sort((a, b) => a.type.localeCompare(b.type)).reverse();
    expect(refresh?.type).toBe('refresh');
    expect(access).toMatchObject({ type: 'access', refreshTokenId: refresh?.tokenId });
    expect(Math.abs(Date.parse(access?.expiresAt as string) - (Date.now() + tokens.expires_in * 1000))).toBeLessThan(3000);
  });

  it('refreshes without rotation (the same refresh token, checked with the service first) and with rotation (a public client: the predecessor retired, its reuse ends the grant at both ends)', async () => {
    const ada = await op.signIn('ada', { client: CONFIDENTIAL, resource: null });
    const calls = await callsDuring(() => op.refresh(ada.refresh_token as string, { client: CONFIDENTIAL, resource: null }));
    expect(calls).toEqual(expect.arrayContaining(['POST /oauth2/introspect', 'POST /v1/tokens']));
    expect(calls.indexOf('POST /oauth2/introspect')).toBeLessThan(calls.indexOf('POST /v1/tokens'));

    const spa = await op.signIn('bea', { client: PUBLIC, resource: null });
    const rotated = await op.refresh(spa.refresh_token as string, { client: PUBLIC, resource: null });
    expect(rotated.refresh_token).not.toBe(spa.refresh_token);
    expect(await active(rotated.access_token)).toBe(true);
    expect(await active(spa.access_token)).toBe(true); // issued from the retired one: active until it expires
    // The old refresh token again: refused, and the grant is over at the provider and at the service.
    expect(await refreshRefused(spa.refresh_token as string, PUBLIC)).toBe(true);
    expect(await refreshRefused(rotated.refresh_token as string, PUBLIC)).toBe(true);
    expect(await active(rotated.access_token)).toBe(false);
    expect(await active(spa.access_token)).toBe(false);
  });

  it("registers a client-credentials token as the app's own, and JWT access tokens for a resource (RFC 8707) with their audience", async () => {
    const m2m = await op.clientCredentials({ client: OTHER });
    const answer = await introspect(m2m.access_token);
    expect(answer).toMatchObject({ active: true, client_id: OTHER, aud: resource });
    expect(answer).not.toHaveProperty('sub');
    expect((await admin.GET('/v1/apps/{appId}/client-tokens', { params: { path: { appId: OTHER } } })).items).toHaveLength(1);

    const ada = await op.signIn('ada', { client: OTHER });
    expect(decodeProtectedHeader(ada.access_token)).toMatchObject({ typ: 'at+jwt' });
    expect(await introspect(ada.access_token)).toMatchObject({ active: true, sub: 'ada', aud: resource, scope: 'orders:read', exp: decodeJwt(ada.access_token).exp });
    const refreshed = await op.refresh(ada.refresh_token as string, { client: OTHER });
    expect(await introspect(refreshed.access_token)).toMatchObject({ active: true, sub: 'ada', aud: resource });
  });

  it("applies the app's access-token lifetime: the JWT's exp and expires_in match the service's expiry", async () => {
    await setPolicies(OTHER, { accessTokenLifetimeMinutes: 2 });
    const ada = await op.signIn('ada', { client: OTHER });
    const claims = decodeJwt(ada.access_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);
    expect(ada.expires_in).toBeLessThanOrEqual(120);
    expect(await introspect(ada.access_token)).toMatchObject({ active: true, exp: claims.exp });
    // A client-credentials token too: its client is authenticated, and its policies read, before it is minted.
    const m2m = decodeJwt((await op.clientCredentials({ client: OTHER })).access_token);
    expect((m2m.exp as number) - (m2m.iat as number)).toBe(120);
  });

  it('tells the client the expiry the service applied when the provider minted with a policy it had not read yet (cached settings)', async () => {
    const appId = 'cached-app';
    const cached = await startOidcProvider({
      resource, scope: 'orders:read', clients: [{ client_id: appId }],
      wire: oauthUsage({ baseUrl: base, token: () => mint('as@example.com', 'tokens:write tokens:introspect'), cacheSeconds: 3600 }),
    });
    try {
      expect(decodeJwt((await cached.clientCredentials({ client: appId })).access_token)).toHaveProperty('exp');
      await setPolicies(appId, { accessTokenLifetimeMinutes: 2 });
      // The provider still knows no lifetime policy: it mints for its resource's 600 s; the service caps the token at 120 s.
      const m2m = await cached.clientCredentials({ client: appId });
      const claims = decodeJwt(m2m.access_token);
      expect((claims.exp as number) - (claims.iat as number)).toBe(600);
      expect(m2m.expires_in).toBeLessThanOrEqual(120);
      expect(m2m.expires_in).toBeGreaterThan(100);
      expect((await introspect(m2m.access_token)).active).toBe(true);
    } finally {
      await cached.close();
    }
  });

  it("lets a rotated-out refresh token be presented again within the app's grace without ending the grant (two tabs refreshing at once)", async () => {
    await setPolicies(PUBLIC, { refreshTokenReuseGraceSeconds: 30 });
    try {
      const spa = await op.signIn('kim', { client: PUBLIC, resource: null });
      const first = await op.refresh(spa.refresh_token as string, { client: PUBLIC, resource: null });
      expect(await refreshRefused(spa.refresh_token as string, PUBLIC)).toBe(true);
      expect(await active(first.access_token)).toBe(true);
      expect(await op.refresh(first.refresh_token as string, { client: PUBLIC, resource: null })).toHaveProperty('access_token');
    } finally {
      await setPolicies(PUBLIC, {});
    }
  });

  it("checks the tokens presented to the provider: a revoked access token is refused at userinfo and ends alone; another client's refresh token is refused without asking", async () => {
    const ada = await op.signIn('lee', { client: CONFIDENTIAL, resource: null });
    expect((await op.userinfo(ada.access_token)).status).toBe(200);
    const access = (await admin.GET('/v1/apps/{appId}/users/{userId}/tokens', { params: { path: { appId: CONFIDENTIAL, userId: 'lee' } } })).items.find((t) => t.type === 'access');
    await admin.DELETE('/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', { params: { path: { appId: CONFIDENTIAL, userId: 'lee', tokenId: access?.tokenId as string } } });
    expect((await op.userinfo(ada.access_token)).status).toBe(401);
    const again = await op.refresh(ada.refresh_token as string, { client: CONFIDENTIAL, resource: null });
    expect(await active(again.access_token)).toBe(true);

    expect(await tokenCallsDuring(async () => { expect(await refreshRefused(ada.refresh_token as string, OTHER)).toBe(true); })).toEqual([]);
  });

  describe('every revocation ends the grant at the provider at once, and leaves another app\'s user alone', () => {
    /** A signed-in user of the confidential app, and one of another app. */
    async function twoGrants(user: string) {
      const mine = await op.signIn(user, { client: CONFIDENTIAL, resource: null });
      const other = await op.signIn(user, { client: OTHER, resource: null });
      return { mine, other };
    }
    async function expectEnded(mine: { access_token: string; refresh_token?: string }, other: { access_token: string; refresh_token?: string }, { atProvider = false } = {}) {
      expect(await active(mine.access_token)).toBe(false);
      // Revoked at the service: refused when the provider asks it, before anything is minted; the grant's other sign-ins (none here)
      // are revoked at the service, then the grant is gone at the provider itself.
      let refused = false;
      expect(await tokenCallsDuring(async () => { refused = await refreshRefused(mine.refresh_token as string); })).toEqual(atProvider ? [] : ['POST /oauth2/introspect', 'POST /oauth2/revoke']);
      expect(refused).toBe(true);
      expect(await tokenCallsDuring(async () => { refused = await refreshRefused(mine.refresh_token as string); })).toEqual([]);
      expect(refused).toBe(true);
      expect(await active(other.access_token)).toBe(true);
      const again = await op.refresh(other.refresh_token as string, { client: OTHER, resource: null });
      expect(await active(again.access_token)).toBe(true);
    }
    const tokensOf = async (userId: string) => (await admin.GET('/v1/apps/{appId}/users/{userId}/tokens', { params: { path: { appId: CONFIDENTIAL, userId } } })).items;

    it('one token (the refresh token, by the admin)', async () => {
      const { mine, other } = await twoGrants('cai');
      const refresh = (await tokensOf('cai')).find((t) => t.type === 'refresh');
      await admin.DELETE('/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', { params: { path: { appId: CONFIDENTIAL, userId: 'cai', tokenId: refresh?.tokenId as string } } });
      await expectEnded(mine, other);
    });

    it("a user's tokens (Revoke)", async () => {
      const { mine, other } = await twoGrants('dan');
      await admin.DELETE('/v1/apps/{appId}/users/{userId}/tokens', { params: { path: { appId: CONFIDENTIAL, userId: 'dan' } } });
      await expectEnded(mine, other);
    });

    it('selected users (Bulk Revoke)', async () => {
      const eve = await twoGrants('eve');
      const fay = await twoGrants('fay');
      await admin.POST('/v1/apps/{appId}/revocations', { params: { path: { appId: CONFIDENTIAL } }, body: { userIds: ['eve', 'fay'] } });
      await expectEnded(eve.mine, eve.other);
      await expectEnded(fay.mine, fay.other);
    });

    it('every token of the app', async () => {
      const { mine, other } = await twoGrants('gus');
      await admin.POST('/v1/apps/{appId}/revocations', { params: { path: { appId: CONFIDENTIAL } }, body: { all: true } });
      await expectEnded(mine, other);
      // The service's worker cleans up: the counts end exact.
      await expect.poll(async () => (await admin.GET('/v1/apps/{appId}', { params: { path: { appId: CONFIDENTIAL } } })).activeTokenCount).toBe(0);
      // The app lives on: a new sign-in is a new grant.
      const later = await op.signIn('gus', { client: CONFIDENTIAL, resource: null });
      expect(await active(later.access_token)).toBe(true);
    });

    it('by the client at the provider (RFC 7009): a refresh token takes its grant, a JWT access token is forwarded', async () => {
      const { mine, other } = await twoGrants('hal');
      const revoked = await op.revoke(mine.refresh_token as string, { client: CONFIDENTIAL, hint: 'refresh_token' });
      expect(revoked.status).toBe(200);
      await expectEnded(mine, other, { atProvider: true });

      const jwt = await op.signIn('hal', { client: CONFIDENTIAL });
      expect(await active(jwt.access_token)).toBe(true);
      expect((await op.revoke(jwt.access_token, { client: CONFIDENTIAL })).status).toBe(200);
      expect(await active(jwt.access_token)).toBe(false);
      // Another client cannot revoke a token it was not issued (oidc-provider's own answer to a JWT stays), nor a JWT the provider never signed.
      const theirs = await op.signIn('hal', { client: OTHER });
      expect((await op.revoke(theirs.access_token, { client: CONFIDENTIAL })).status).toBe(400);
      expect(await active(theirs.access_token)).toBe(true);
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ client_id: CONFIDENTIAL, jti: 'forged' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).setIssuer(op.issuer).setIssuedAt().setExpirationTime('5m').sign(privateKey);
      expect(await callsDuring(async () => { expect((await op.revoke(forged, { client: CONFIDENTIAL })).status).toBe(400); })).toEqual([]);
    });

    it("the user's offboarding (every app)", async () => {
      const { mine, other } = await twoGrants('oli');
      await admin.POST('/v1/users/{userId}/revocations', { params: { path: { userId: 'oli' } }, body: {} });
      expect(await active(mine.access_token)).toBe(false);
      expect(await refreshRefused(mine.refresh_token as string)).toBe(true);
      expect(await active(other.access_token)).toBe(false);
      expect(await refreshRefused(other.refresh_token as string, OTHER)).toBe(true);
      const bystander = await op.signIn('pat', { client: CONFIDENTIAL, resource: null });
      expect(await active(bystander.access_token)).toBe(true);
    });

    it('by the client at the provider (RFC 7009), an opaque access token: the provider ends its grant, and so does the service', async () => {
      const { mine, other } = await twoGrants('quinn');
      expect((await op.revoke(mine.access_token, { client: CONFIDENTIAL, hint: 'access_token' })).status).toBe(200);
      await expectEnded(mine, other, { atProvider: true });
    });

    it('one sign-in of a grant two share, by the admin: the provider ends the grant, and the other sign-in ends at the service too', async () => {
      const first = await op.signIn('ray', { client: CONFIDENTIAL, resource: null, session: 'ray' });
      const second = await op.signIn('ray', { client: CONFIDENTIAL, resource: null, session: 'ray' });
      const refresh = (await tokensOf('ray')).filter((t) => t.type === 'refresh');
      expect(refresh).toHaveLength(2);
      // The first sign-in's refresh token is the one its access token names.
      const firstAccess = (await tokensOf('ray')).find((t) => t.type === 'access' && refresh.some((r) => r.tokenId === t.refreshTokenId));
      await admin.DELETE('/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', { params: { path: { appId: CONFIDENTIAL, userId: 'ray', tokenId: firstAccess?.refreshTokenId as string } } });
      const stillActive = [first, second].filter((t) => t.access_token).length;
      expect(stillActive).toBe(2);
      // Whichever sign-in it was, refreshing both is refused, and nothing of the grant is active at the service.
      expect(await refreshRefused(first.refresh_token as string) || await refreshRefused(second.refresh_token as string)).toBe(true);
      expect(await refreshRefused(first.refresh_token as string)).toBe(true);
      expect(await refreshRefused(second.refresh_token as string)).toBe(true);
      for (const token of [first.access_token, second.access_token]) expect(await active(token)).toBe(false);
    });

    it('by the client at the provider, for a grant two sign-ins of one session share: both end at the service', async () => {
      const first = await op.signIn('max', { client: CONFIDENTIAL, resource: null, session: 'max' });
      const second = await op.signIn('max', { client: CONFIDENTIAL, resource: null, session: 'max' });
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await op.revoke(second.refresh_token as string, { client: CONFIDENTIAL, hint: 'refresh_token' })).status).toBe(200);
      for (const token of [first.access_token, second.access_token]) expect(await active(token)).toBe(false);
      expect(await refreshRefused(first.refresh_token as string)).toBe(true);
    });
  });

  it('a code used twice: the provider revokes its grant (RFC 6749 §4.1.2), and so does the service', async () => {
    const form = await op.authorizationCode('ivy', { client: CONFIDENTIAL, resource: null });
    const first = await op.tokenCall(form, { client: CONFIDENTIAL });
    expect(first.status).toBe(200);
    expect(await active(first.body.access_token as string)).toBe(true);
    expect(await op.tokenCall(form, { client: CONFIDENTIAL })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await active(first.body.access_token as string)).toBe(false);
    expect(await refreshRefused(first.body.refresh_token as string)).toBe(true);
  });

  it('a registration the network lost: no token leaves, and a rotation is undone so the client can try again', async () => {
    const spa = await op.signIn('jon', { client: PUBLIC, resource: null });
    registrationsLost = true;
    try {
      const calls = await callsDuring(async () => {
        const lost = await op.tokenCall({ grant_type: 'refresh_token', refresh_token: spa.refresh_token as string }, { client: PUBLIC });
        expect(lost).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
        expect(lost.body.access_token).toBeUndefined();
      });
      expect(calls.filter((c) => c === 'POST /v1/tokens')).toHaveLength(3); // tried again, then given up
    } finally {
      registrationsLost = false;
    }
    const retried = await op.refresh(spa.refresh_token as string, { client: PUBLIC, resource: null });
    expect(await active(retried.access_token)).toBe(true);
    expect(await op.refresh(retried.refresh_token as string, { client: PUBLIC, resource: null })).toHaveProperty('access_token');
  });

  it('a registration that committed but whose answer was lost is sent again: the client gets its tokens, the rotation holds', async () => {
    const spa = await op.signIn('ned', { client: PUBLIC, resource: null });
    answersLost = 1;
    const rotated = await op.refresh(spa.refresh_token as string, { client: PUBLIC, resource: null });
    expect(answersLost).toBe(0);
    expect(await active(rotated.access_token)).toBe(true);
    expect(await op.refresh(rotated.refresh_token as string, { client: PUBLIC, resource: null })).toHaveProperty('access_token');
  });

  it('keeps a grant at both ends when the revocation cannot be forwarded (a code used twice while the service is down), and ends it at both once it can', async () => {
    const form = await op.authorizationCode('rae', { client: CONFIDENTIAL, resource: null });
    const first = await op.tokenCall(form, { client: CONFIDENTIAL });
    expect(first.status).toBe(200);
    lost.add('POST /oauth2/revoke');
    try {
      expect(await op.tokenCall(form, { client: CONFIDENTIAL })).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    } finally {
      lost.delete('POST /oauth2/revoke');
    }
    // Never at one end only: the grant lives at the provider (its refresh works) and at the service.
    const refreshed = await op.refresh(first.body.refresh_token as string, { client: CONFIDENTIAL, resource: null });
    expect(await active(refreshed.access_token)).toBe(true);
    expect(await op.tokenCall(form, { client: CONFIDENTIAL })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await active(refreshed.access_token)).toBe(false);
    expect(await refreshRefused(first.body.refresh_token as string)).toBe(true);
  });

  it('answers a refresh 503 when the service cannot be asked about the refresh token, and consumes nothing', async () => {
    const ada = await op.signIn('sam', { client: PUBLIC, resource: null });
    lost.add('POST /oauth2/introspect');
    try {
      const answer = await op.tokenCall({ grant_type: 'refresh_token', refresh_token: ada.refresh_token as string }, { client: PUBLIC });
      expect(answer).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
      expect(answer.headers.get('retry-after')).toBe('5');
    } finally {
      lost.delete('POST /oauth2/introspect');
    }
    expect(await op.refresh(ada.refresh_token as string, { client: PUBLIC, resource: null })).toHaveProperty('access_token');
  });

  it('fails closed: a refusal is an OAuth error with no token, and so is a service the provider cannot reach', async () => {
    await admin.POST('/v1/apps/{appId}/block', { params: { path: { appId: BLOCKED } }, body: {} }).catch(async () => {
      // The app does not exist until its first token: declare it as the provider would, then block it.
      await createClient({ baseUrl: base, token: () => mint('as@example.com', 'tokens:write') }).PUT('/v1/apps/{appId}', { params: { path: { appId: BLOCKED } }, body: { name: BLOCKED } });
      await admin.POST('/v1/apps/{appId}/block', { params: { path: { appId: BLOCKED } }, body: {} });
    });
    const refused = await op.tokenCall({ grant_type: 'client_credentials', scope: 'orders:read', resource }, { client: BLOCKED });
    expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(refused.body.access_token).toBeUndefined();

    // A provider whose service is down (a port nothing listens on).
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await startOidcProvider({
      resource, scope: 'orders:read', clients: [{ client_id: CONFIDENTIAL }],
      wire: oauthUsage({ baseUrl: deadUrl, token: () => mint('as@example.com', 'tokens:write tokens:introspect'), attempts: 2 }),
    });
    try {
      const code = await unreachable.tokenCall({ grant_type: 'client_credentials', scope: 'orders:read', resource });
      expect(code.status).toBe(503);
      expect(code.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(code.body.access_token).toBeUndefined();
      expect(code.headers.get('retry-after')).toMatch(/^\d+$/);
      await expect(unreachable.signIn('ada', { resource: null })).rejects.toThrow(/503.*temporarily_unavailable/);
    } finally {
      await unreachable.close();
    }
  });
});
