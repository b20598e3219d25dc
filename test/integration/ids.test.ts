import { describe, expect, it } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

/** Ids as real authorization servers make them, in bodies and (percent-encoded) in paths. */
const org = 'org-ids';

describe('ids', () => {
  it.each([
    ['_k3jX-9', 'auth0|abc123'],
    ['-x7', 'ada+test@example.com'],
    ['0oa1b2c3d4E5f6G7h8i9', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
    ['app!"$&\'()*+,;<=>[]^`{|}~', 'user!"$&\'()*+,;<=>[]^`{|}~'],
    ['a'.repeat(255), 'u'.repeat(255)],
  ])('app %s and user %s: registered, listed, introspected and revoked by path', async (appId, userId) => {
    await createApp(org, appId, { name: 'Any' });
    const token = rawToken();
    const reg = await register(org, { token, type: 'access', appId, userId });
    expect(reg.status, reg.text).toBe(201);
    expect(reg.body).toMatchObject({ appId, userId });
    expect((await call('getApp', { claims: as(org), path: { appId } })).body).toMatchObject({ appId, userCount: 1, activeTokenCount: 1 });
    expect((await call('listAppUsers', { claims: as(org), path: { appId } })).body.items).toEqual([expect.objectContaining({ userId })]);
    expect((await call('listUserApps', { claims: as(org), path: { userId } })).body.items).toEqual([expect.objectContaining({ appId })]);
    expect((await introspect(org, token)).body).toMatchObject({ active: true, client_id: appId, sub: userId });
    const revoked = await call('revokeToken', { claims: as(org), path: { appId, userId, tokenId: reg.body.tokenId as string } });
    expect(revoked.status).toBe(204);
    expect((await introspect(org, token)).body).toEqual({ active: false });
  });

  it('an id that continues another\'s with a character below the key separator stays apart from it', async () => {
    await createApp(org, 'near!by');
    await register(org, { token: rawToken(), type: 'access', appId: 'near!by', userId: 'u' });
    // `near` does not exist: its key range must not find `near!by`'s row or shards.
    expect((await call('getApp', { claims: as(org), path: { appId: 'near' } })).status).toBe(404);
    await createApp(org, 'near');
    expect((await call('getApp', { claims: as(org), path: { appId: 'near' } })).body).toMatchObject({ appId: 'near', userCount: 0, activeTokenCount: 0 });
    expect((await call('getApp', { claims: as(org), path: { appId: 'near!by' } })).body).toMatchObject({ appId: 'near!by', userCount: 1, activeTokenCount: 1 });
  });

  it.each([
    ['a/b'], ['a?b'], ['a#b'], ['a%b'], ['a\\b'], ['a b'], ['é'], ['tab\there'], ['.'], ['..'], ['x'.repeat(256)],
  ])('refuses %j as an id with a 400 naming the field, in a body and in a path', async (id) => {
    const body = await call('createApp', { claims: as(org), json: { appId: id, name: 'Bad' } });
    expect(body.status, body.text).toBe(400);
    expect(body.body.errors).toEqual([expect.objectContaining({ path: 'body.appId' })]);
    const registration = await register(org, { token: rawToken(), type: 'access', appId: 'near', userId: id });
    expect(registration.body.errors).toEqual([expect.objectContaining({ path: 'body.userId' })]);
    const path = await call('getApp', { claims: as(org), path: { appId: id } });
    expect(path.status).toBe(400);
    expect(path.body.errors).toEqual([expect.objectContaining({ path: 'path.appId' })]);
  });
});
