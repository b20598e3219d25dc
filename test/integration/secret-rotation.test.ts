import { afterAll, describe, expect, it, vi } from 'vitest';
import * as before from '../support/api.js';

/**
 * Rotating the service secret: the secret becomes `{"current": 2, "keys": {"1": old, "2": new}}`
 * and the functions start again (here: the modules load anew). Tokens registered under version 1
 * keep working, revoked ones stay revoked, new tokens use version 2, and cursors handed out
 * before still open.
 */
const org = 'org-rotation';
const oldSecret = process.env.TOKEN_HASH_SECRET as string;
afterAll(() => {
  process.env.TOKEN_HASH_SECRET = oldSecret;
});

describe('a rotated secret', () => {
  it('keeps every token of the old version working, revoked or not, and uses the new version for new ones', { timeout: 60_000 }, async () => {
    await before.createApp(org, 'rotating');
    const refresh = before.rawToken('old-refresh');
    const refreshId = (await before.register(org, { token: refresh, type: 'refresh', appId: 'rotating', userId: 'ada' })).body.tokenId as string;
    const live = before.rawToken('old-live');
    const liveId = (await before.register(org, { token: live, type: 'access', appId: 'rotating', userId: 'ada' })).body.tokenId as string;
    const revoked = before.rawToken('old-revoked');
    await before.register(org, { token: revoked, type: 'access', appId: 'rotating', userId: 'ada' });
    expect((await before.call('revoke', { claims: before.as(org), form: { token: revoked } })).status).toBe(200);
    const page = await before.call('listUserTokens', { claims: before.as(org), path: { appId: 'rotating', userId: 'ada' }, query: { limit: '1' } });
    const cursor = page.body.nextCursor as string;

    process.env.TOKEN_HASH_SECRET = JSON.stringify({ current: 2, keys: { 1: oldSecret, 2: Buffer.alloc(32, 42).toString('base64') } });
    vi.resetModules();
    const after = await import('../support/api.js');

    expect((await after.introspect(org, live)).body.active).toBe(true);
    expect((await after.introspect(org, revoked)).body).toEqual({ active: false });
    const retried = await after.register(org, { token: revoked, type: 'access', appId: 'rotating', userId: 'ada' });
    expect([retried.status, retried.body.type]).toEqual([409, expect.stringMatching(/token-revoked$/)]);
    const again = await after.register(org, { token: live, type: 'access', appId: 'rotating', userId: 'ada' });
    expect([again.status, again.body.tokenId]).toEqual([200, liveId]);

    const fresh = after.rawToken('new');
    const created = await after.register(org, { token: fresh, type: 'access', appId: 'rotating', userId: 'ada', refreshTokenId: refreshId });
    expect(created.status, created.text).toBe(201);
    expect(created.body.tokenId).toMatch(/^2\.[A-Za-z0-9_-]{22}$/);
    expect((await after.introspect(org, fresh)).body.active).toBe(true);

    const next = await after.call('listUserTokens', { claims: after.as(org), path: { appId: 'rotating', userId: 'ada' }, query: { cursor } });
    expect(next.status).toBe(200);
    expect((await after.call('revokeToken', { claims: after.as(org), path: { appId: 'rotating', userId: 'ada', tokenId: liveId } })).status).toBe(204);
    expect((await after.introspect(org, live)).body).toEqual({ active: false });
    // The refresh token of version 1 takes its version-2 child with it.
    expect((await after.call('revokeToken', { claims: after.as(org), path: { appId: 'rotating', userId: 'ada', tokenId: refreshId } })).status).toBe(204);
    expect((await after.introspect(org, fresh)).body).toEqual({ active: false });
    const app = (await after.call('getApp', { claims: after.as(org), path: { appId: 'rotating' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});
