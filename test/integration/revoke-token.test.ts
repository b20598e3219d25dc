import { describe, expect, it } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

const org = 'org-revoke-one';

async function setup(appId: string) {
  await createApp(org, appId);
  const refresh = rawToken('rt');
  const refreshId = (await register(org, { token: refresh, type: 'refresh', appId, userId: 'kai' })).body.tokenId as string;
  const access = rawToken('at');
  const accessId = (await register(org, { token: access, type: 'access', appId, userId: 'kai', refreshTokenId: refreshId })).body.tokenId as string;
  const other = rawToken('other');
  await register(org, { token: other, type: 'access', appId, userId: 'kai' });
  return { refresh, refreshId, access, accessId, other };
}

const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return [body.userCount, body.activeTokenCount];
};
const del = (appId: string, userId: string, tokenId: string, claims = as(org, { sub: 'sec-admin' })) =>
  call('revokeToken', { claims, path: { appId, userId, tokenId } });

describe('DELETE /v1/apps/{appId}/users/{userId}/tokens/{tokenId}', () => {
  it('revokes one token at once (204), uncounts it, and records token.revoked', async () => {
    const t = await setup('one');
    const reply = await del('one', 'kai', t.accessId);
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    expect((await introspect(org, t.access)).body).toEqual({ active: false });
    expect((await introspect(org, t.refresh)).body.active).toBe(true);
    expect(await counts('one')).toEqual([1, 2]);
    const listed = await call('listUserTokens', { claims: as(org), path: { appId: 'one', userId: 'kai' } });
    expect((listed.body.items ?? []).map((i) => i.tokenId)).not.toContain(t.accessId);
    const [event] = (await call('listAuditEvents', { claims: as(org), query: { appId: 'one', userId: 'kai' } })).body.items ?? [];
    expect(event).toMatchObject({ action: 'token.revoked', actor: { sub: 'sec-admin', kind: 'user' }, appId: 'one', userId: 'kai', tokenId: t.accessId, details: { type: 'access' } });
  });

  it('takes the access tokens of a refresh token with it', async () => {
    const t = await setup('cascade-one');
    expect((await del('cascade-one', 'kai', t.refreshId)).status).toBe(204);
    expect((await introspect(org, t.refresh)).body).toEqual({ active: false });
    expect((await introspect(org, t.access)).body).toEqual({ active: false });
    expect((await introspect(org, t.other)).body.active).toBe(true);
    expect(await counts('cascade-one')).toEqual([1, 1]);
  });

  it('answers 404 for a token that is unknown, of another user or app, or of another org; 204 again for one already revoked (a retry), audited once', async () => {
    const t = await setup('guarded-one');
    await createApp(org, 'elsewhere');
    expect((await del('guarded-one', 'kai', 'AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await del('guarded-one', 'someone-else', t.accessId)).status).toBe(404);
    expect((await del('elsewhere', 'kai', t.accessId)).status).toBe(404);
    expect((await del('guarded-one', 'kai', t.accessId, as('org-revoke-other'))).status).toBe(404);
    expect((await introspect(org, t.access)).body.active).toBe(true);
    expect((await del('guarded-one', 'kai', t.accessId)).status).toBe(204);
    expect((await del('guarded-one', 'kai', t.accessId)).status).toBe(204);
    expect((await introspect(org, t.access)).body).toEqual({ active: false });
    // Still 404 for another user's or app's spelling of it.
    expect((await del('elsewhere', 'kai', t.accessId)).status).toBe(404);
    const revokedEvents = ((await call('listAuditEvents', { claims: as(org), query: { appId: 'guarded-one' } })).body.items ?? [])
      .filter((e) => e.action === 'token.revoked' && e.tokenId === t.accessId);
    expect(revokedEvents).toHaveLength(1);
  });

  it('answers 400 for a malformed token id and 403 without apps:manage', async () => {
    const bad = await del('guarded-one', 'kai', 'not-a-token-id');
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[])[0]?.path).toBe('path.tokenId');
    expect((await del('guarded-one', 'kai', 'AAAAAAAAAAAAAAAAAAAAAA', as(org, { scope: 'usage:read' }))).status).toBe(403);
  });

  it('takes an Idempotency-Key as every revocation does: a retry with it is 204 again, a malformed one a 400 naming the header', async () => {
    const t = await setup('keyed-one');
    const keyed = (key: string) => call('revokeToken', { claims: as(org, { sub: 'sec-admin' }), path: { appId: 'keyed-one', userId: 'kai', tokenId: t.accessId }, headers: { 'idempotency-key': key } });
    const bad = await keyed('has space');
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['headers.idempotency-key']);
    expect((await introspect(org, t.access)).body.active).toBe(true);
    expect((await keyed('click-1')).status).toBe(204);
    expect((await keyed('click-1')).status).toBe(204);
    expect((await introspect(org, t.access)).body).toEqual({ active: false });
  });
});
