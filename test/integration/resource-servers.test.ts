import { afterEach, describe, expect, it, vi } from 'vitest';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/** Declared resource servers: the audience each serves, and their client secrets. */
const org = 'org-resource-servers';
const admin = as(org, { sub: 'admin@org-rs' });
const asCaller = (sub: string) => as(org, { sub, scope: 'tokens:introspect' });
const ask = async (sub: string, token: string) => (await call('introspect', { claims: asCaller(sub), form: { token } })).body;
const events = async () => ((await call('listAuditEvents', { claims: admin })).body.items ?? [])
  .filter((e) => e.action === 'resource-server.changed');

describe('/v1/resource-servers/{sub}', () => {
  it('declares (201), keeps an unchanged declaration as it is (200, no event), replaces (200), lists, reads and deletes (204), audited', async () => {
    const put = (json: unknown) => call('declareResourceServer', { claims: admin, path: { sub: 'orders-api' }, json });
    const declared = await put({ name: 'Orders API', audience: 'https://orders.example' });
    expect(declared.status, declared.text).toBe(201);
    expect(declared.body).toEqual({ sub: 'orders-api', name: 'Orders API', audience: 'https://orders.example', secrets: [], createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect((await put({ name: 'Orders API', audience: 'https://orders.example' })).status).toBe(200);
    const replaced = await put({ name: 'Orders', audience: 'https://orders.example/v2' });
    expect([replaced.status, replaced.body.audience]).toEqual([200, 'https://orders.example/v2']);
    const listed = await call('listResourceServers', { claims: as(org, { scope: 'usage:read' }) });
    expect(listed.body.items).toEqual([expect.objectContaining({ sub: 'orders-api', name: 'Orders' })]);
    expect((await call('getResourceServer', { claims: admin, path: { sub: 'orders-api' } })).body).toMatchObject({ audience: 'https://orders.example/v2' });
    expect((await call('deleteResourceServer', { claims: admin, path: { sub: 'orders-api' } })).status).toBe(204);
    expect((await call('getResourceServer', { claims: admin, path: { sub: 'orders-api' } })).status).toBe(404);
    expect((await call('deleteResourceServer', { claims: admin, path: { sub: 'orders-api' } })).status).toBe(404);
    expect((await events()).map((e) => (e.details as { change: string }).change)).toEqual(['deleted', 'replaced', 'declared']);
    expect((await put({ name: 'X' })).body.errors).toEqual([expect.objectContaining({ path: 'body.audience' })]);
    expect((await call('declareResourceServer', { claims: as(org, { scope: 'usage:read' }), path: { sub: 'x' }, json: { name: 'X', audience: 'y' } })).status).toBe(403);
  });

  it('a declared resource server sees the tokens of its audience and those registered without one; an undeclared caller sees every token', async () => {
    await createApp(org, 'shop');
    const token = (audience?: string[]) => ({ token: rawToken(), type: 'access', appId: 'shop', userId: 'ada', ...(audience ? { audience } : {}) });
    const [orders, billing, both, any] = [token(['https://orders.example']), token(['https://billing.example']), token(['https://billing.example', 'https://orders.example']), token()];
    for (const t of [orders, billing, both, any]) expect((await register(org, t)).status).toBe(201);
    expect((await call('declareResourceServer', { claims: admin, path: { sub: 'orders-rs' }, json: { name: 'Orders', audience: 'https://orders.example' } })).status).toBe(201);

    const seen = async (sub: string) => Promise.all([orders, billing, both, any].map(async (t) => (await ask(sub, t.token)).active === true));
    expect(await seen('orders-rs')).toEqual([true, false, true, true]);
    expect(await seen('somebody-undeclared')).toEqual([true, true, true, true]);
    // A token shown inactive to a resource server outside its audience was not used by it.
    const tokens = (await call('listUserTokens', { claims: admin, path: { appId: 'shop', userId: 'ada' } })).body.items ?? [];
    const billingId = (await register(org, billing)).body.tokenId;
    expect(tokens.find((t) => t.tokenId === billingId)?.useCount).toBe(1);
  });

  it('a client secret: shown once, stored as a hash, listed without its value, 404 for an undeclared sub', async () => {
    expect((await call('createClientSecret', { claims: admin, path: { sub: 'nobody' } })).status).toBe(404);
    await call('declareResourceServer', { claims: admin, path: { sub: 'kong' }, json: { name: 'Kong', audience: 'https://api.example' } });
    const made = await call('createClientSecret', { claims: admin, path: { sub: 'kong' } });
    expect(made.status, made.text).toBe(201);
    expect(made.body).toEqual({ clientId: 'kong', clientSecret: expect.stringMatching(/^ous_/), createdAt: expect.any(String), previousSecretsExpireAt: null });
    const again = await call('createClientSecret', { claims: admin, path: { sub: 'kong' } });
    expect(again.body.previousSecretsExpireAt).toEqual(expect.any(String));
    const read = await call('getResourceServer', { claims: admin, path: { sub: 'kong' } });
    expect(read.body.secrets).toEqual([{ createdAt: made.body.createdAt, expiresAt: again.body.previousSecretsExpireAt }, { createdAt: again.body.createdAt, expiresAt: null }]);
    expect(read.text).not.toContain(made.body.clientSecret as string);
    expect(read.text).not.toContain(again.body.clientSecret as string);
  });

  describe('HTTP Basic at /oauth2/introspect', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const introspectAs = (authorization: string, token: string) => call('introspect', { headers: { authorization }, form: { token } });
    /** An app with one registered access token (its raw value). */
    const appWithToken = async (appId: string) => {
      await createApp(org, appId);
      const token = rawToken();
      expect((await register(org, { token, type: 'access', appId, userId: 'ada' })).status).toBe(201);
      return token;
    };
    const secretOf = async (orgId: string, sub: string) => {
      await call('declareResourceServer', { claims: as(orgId), path: { sub }, json: { name: sub, audience: 'https://api.example' } });
      return (await call('createClientSecret', { claims: as(orgId), path: { sub } })).body.clientSecret as string;
    };

    it('takes a client id form-encoded or as it is (svc+orders), names the secret\'s own org only, and refuses made-up orgs', async () => {
      await createApp(org, 'basic-app');
      const token = rawToken();
      expect((await register(org, { token, type: 'access', appId: 'basic-app', userId: 'ada' })).status).toBe(201);
      const secret = await secretOf(org, 'svc+orders');
      // RFC 6749 §2.3.1 form-encodes (Spring Security's builder); Spring's three-argument constructor and most proxies do not.
      for (const clientId of [encodeURIComponent('svc+orders'), 'svc+orders']) {
        const answer = await introspectAs(basic(clientId, secret), token);
        expect([answer.status, answer.body.active]).toEqual([200, true]);
      }
      // The same sub declared in another org, with its own secret: each secret authenticates in its own org only.
      const otherSecret = await secretOf('org-rs-other', 'svc+orders');
      expect((await introspectAs(basic('svc+orders', otherSecret), token)).body).toEqual({ active: false });
      // A secret whose org part names the first org but whose key is not one of its secrets; one naming an org that is no id.
      const forged = `ous_${Buffer.from(org).toString('base64url')}.${'A'.repeat(43)}`;
      const badOrg = `ous_${Buffer.from('a/b').toString('base64url')}.${secret.split('.')[1]}`;
      for (const wrong of [forged, badOrg, `${secret}x`]) {
        const refused = await introspectAs(basic('svc+orders', wrong), token);
        expect([refused.status, refused.body.error, refused.headers['www-authenticate']]).toEqual([401, 'invalid_client', expect.stringMatching(/^Basic /)]);
      }
    });

    it('a replaced secret works for 24 hours after the new one was made, then no longer', async () => {
      const token = await appWithToken('overlap-app');
      const first = await secretOf(org, 'rotating-rs');
      const second = (await call('createClientSecret', { claims: admin, path: { sub: 'rotating-rs' } })).body.clientSecret as string;
      for (const secret of [first, second]) expect((await introspectAs(basic('rotating-rs', secret), token)).status).toBe(200);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 24 * 3_600_000 + 60_000 });
      expect((await introspectAs(basic('rotating-rs', first), token)).status).toBe(401);
      expect((await introspectAs(basic('rotating-rs', second), token)).status).toBe(200);
    });

    it('a leaked secret ends at once, overlap included, with DELETE …/secret; the declaration stays; audited', async () => {
      const token = await appWithToken('leak-app');
      const first = await secretOf(org, 'leaky-rs');
      const second = (await call('createClientSecret', { claims: admin, path: { sub: 'leaky-rs' } })).body.clientSecret as string;
      expect((await call('revokeClientSecrets', { claims: admin, path: { sub: 'leaky-rs' } })).status).toBe(204);
      for (const secret of [first, second]) expect((await introspectAs(basic('leaky-rs', secret), token)).status).toBe(401);
      expect((await call('getResourceServer', { claims: admin, path: { sub: 'leaky-rs' } })).body).toMatchObject({ sub: 'leaky-rs', secrets: [] });
      expect((await events()).filter((e) => (e.details as { change?: string }).change === 'secrets-revoked')).toEqual([
        expect.objectContaining({ details: expect.objectContaining({ sub: 'leaky-rs', secretsRevoked: 2 }) }),
      ]);
      // Again: nothing left to end, nothing audited.
      expect((await call('revokeClientSecrets', { claims: admin, path: { sub: 'leaky-rs' } })).status).toBe(204);
      expect((await call('revokeClientSecrets', { claims: admin, path: { sub: 'nobody' } })).status).toBe(404);
      expect((await events()).filter((e) => (e.details as { change?: string }).change === 'secrets-revoked')).toHaveLength(1);
    });
  });
});
