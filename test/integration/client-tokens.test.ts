import { describe, expect, it } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

/** Tokens of the app's own client (client-credentials grant): no user, counted, listed and revoked like any other. */
const org = 'org-client-tokens';

const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return [body.userCount, body.activeTokenCount];
};
const clientTokens = async (appId: string) => (await call('listClientTokens', { claims: as(org), path: { appId } })).body.items ?? [];
const usersOf = async (appId: string) => (await call('listAppUsers', { claims: as(org), path: { appId } })).body.items ?? [];

describe('a client\'s own tokens', () => {
  it('register without a userId: answered with userId null, counted in activeTokenCount and not in userCount, introspected without sub', async () => {
    await createApp(org, 'reports', { policies: { permittedUsers: 'admin-approved-pre-authorized' } });
    expect(await clientTokens('reports')).toEqual([]);
    const token = rawToken('cc');
    const reg = await register(org, { token, type: 'access', appId: 'reports', scopes: ['reports:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(reg.status, reg.text).toBe(201); // permittedUsers does not apply: there is no user
    expect(reg.body).toMatchObject({ appId: 'reports', userId: null, type: 'access' });
    expect((await register(org, { token, type: 'access', appId: 'reports', scopes: ['reports:read'] })).status).toBe(200);
    expect(await counts('reports')).toEqual([0, 1]);
    expect(await usersOf('reports')).toEqual([]);
    const apps = (await call('listApps', { claims: as(org) })).body.items ?? [];
    expect(apps).toEqual([expect.objectContaining({ appId: 'reports', userCount: 0, activeTokenCount: 1 })]);

    const answer = (await introspect(org, token)).body;
    expect(answer).toMatchObject({ active: true, client_id: 'reports', scope: 'reports:read', token_type: 'Bearer' });
    expect(answer).not.toHaveProperty('sub');
    expect(answer).not.toHaveProperty('username');
    expect(await clientTokens('reports')).toEqual([expect.objectContaining({ tokenId: reg.body.tokenId, useCount: 1, lastUsedAt: expect.any(String) })]);

    const withName = await register(org, { token: rawToken('cc'), type: 'access', appId: 'reports', userName: 'Nobody' });
    expect(withName.status).toBe(400);
    expect(withName.body.errors).toEqual([expect.objectContaining({ path: 'body.userName' })]);
  });

  it('beside users\' tokens, revoked one by one (audited without a user) and by every app-wide revocation', async () => {
    await createApp(org, 'mixed');
    const [mine, other, ada] = [rawToken('cc'), rawToken('cc'), rawToken('u')];
    const mineId = (await register(org, { token: mine, type: 'access', appId: 'mixed' })).body.tokenId as string;
    await register(org, { token: other, type: 'access', appId: 'mixed' });
    await register(org, { token: ada, type: 'access', appId: 'mixed', userId: 'ada' });
    expect(await counts('mixed')).toEqual([1, 3]);
    expect((await usersOf('mixed')).map((u) => u.userId)).toEqual(['ada']);

    // Not through a user's path: `%client` is no id.
    expect((await call('revokeToken', { claims: as(org), path: { appId: 'mixed', userId: 'ada', tokenId: mineId } })).status).toBe(404);
    expect((await call('revokeClientToken', { claims: as(org), path: { appId: 'mixed', tokenId: mineId } })).status).toBe(204);
    expect((await introspect(org, mine)).body).toEqual({ active: false });
    expect(await counts('mixed')).toEqual([1, 2]);
    expect((await call('revokeClientToken', { claims: as(org), path: { appId: 'mixed', tokenId: mineId } })).status).toBe(204); // a retry: already revoked
    const revoked = ((await call('listAuditEvents', { claims: as(org), query: { appId: 'mixed' } })).body.items ?? []).filter((e) => e.action === 'token.revoked');
    expect(revoked).toEqual([expect.objectContaining({ tokenId: mineId, userId: null })]);
    expect((await register(org, { token: mine, type: 'access', appId: 'mixed' })).body.type).toBe('urn:oauth-usage:problem:token-revoked');

    const job = await call('requestRevocation', { claims: as(org), path: { appId: 'mixed' }, json: { all: true } });
    expect(job.status, job.text).toBe(202);
    expect((await introspect(org, other)).body).toEqual({ active: false });
    expect(await counts('mixed')).toEqual([0, 0]);
    await drainQueue();
    expect((await call('getRevocationJob', { claims: as(org), path: { jobId: job.body.jobId as string } })).body).toMatchObject({ status: 'succeeded' });
    expect(await clientTokens('mixed')).toEqual([]);
    expect((await register(org, { token: other, type: 'access', appId: 'mixed' })).body.type).toBe('urn:oauth-usage:problem:token-revoked');
    // A new client token after it counts again.
    expect((await register(org, { token: rawToken('cc'), type: 'access', appId: 'mixed' })).status).toBe(201);
    expect(await counts('mixed')).toEqual([0, 1]);
  });

  it('the client token list is 404 for an unknown app and needs usage:read', async () => {
    expect((await call('listClientTokens', { claims: as(org), path: { appId: 'nowhere' } })).status).toBe(404);
    await createApp(org, 'private');
    expect((await call('listClientTokens', { claims: as(org, { scope: 'tokens:introspect' }), path: { appId: 'private' } })).status).toBe(403);
  });
});
