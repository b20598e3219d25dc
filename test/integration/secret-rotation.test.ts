import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
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

/**
 * The rollout of a new key version in two phases (docs/operations.md), with two containers on one
 * table holding different key sets, as during each phase: every token registered or revoked
 * through either is seen the same by both, and a revoked one is never registered again.
 */
describe('a rollout in two phases, two containers on one table', () => {
  const v1 = process.env.TOKEN_HASH_SECRET as string;
  const v2 = Buffer.alloc(32, 7).toString('base64');
  const staged = JSON.stringify({ current: 1, keys: { 1: v1, 2: v2 } });
  const promoted = JSON.stringify({ current: 2, keys: { 1: v1, 2: v2 } });
  /** A container: the modules loaded anew with this secret (its own hasher and key set). */
  const container = async (secret: string) => {
    process.env.TOKEN_HASH_SECRET = secret;
    vi.resetModules();
    const api = await import('../support/api.js');
    await api.loadAllHandlers(); // before the next container resets the modules
    return api;
  };
  type Container = Awaited<ReturnType<typeof container>>;

  /** Registered and revoked through each container in turn: the same answers from both, always. */
  async function holdsBetween(name: string, a: Container, b: Container) {
    await a.createApp(org, name);
    const access = (token: string) => ({ token, type: 'access', appId: name, userId: 'ada' });
    for (const [registrar, revoker] of [[a, b], [b, a]] as const) {
      // Registered by one, revoked (RFC 7009) by the other: inactive to both, and registered again through either, 409.
      const token = registrar.rawToken(name);
      expect((await registrar.register(org, access(token))).status).toBe(201);
      for (const c of [a, b]) expect((await c.introspect(org, token)).body.active).toBe(true);
      expect((await revoker.call('revoke', { claims: revoker.as(org), form: { token } })).status).toBe(200);
      for (const c of [a, b]) {
        expect((await c.introspect(org, token)).body).toEqual({ active: false });
        expect((await c.register(org, access(token))).status).toBe(409);
      }
      // Registered and revoked by one, registered again through the other: 409.
      const again = registrar.rawToken(name);
      expect((await registrar.register(org, access(again))).status).toBe(201);
      expect((await registrar.call('revoke', { claims: registrar.as(org), form: { token: again } })).status).toBe(200);
      expect((await revoker.register(org, access(again))).status).toBe(409);
      for (const c of [a, b]) expect((await c.introspect(org, again)).body).toEqual({ active: false });
      // Revoked before anyone registered it, through one; registered through the other: 409.
      const early = registrar.rawToken(name);
      expect((await revoker.call('revoke', { claims: revoker.as(org), form: { token: early } })).status).toBe(200);
      expect((await registrar.register(org, access(early))).status).toBe(409);
    }
    const app = (await a.call('getApp', { claims: a.as(org), path: { appId: name } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  }

  it('phase 1: a container on the old key set beside one that knows the new version but does not use it yet', { timeout: 60_000 }, async () => {
    const old = await container(v1);
    const knowing = await container(staged);
    await holdsBetween('phase-1', old, knowing);
  });

  it('phase 2: a container that knows the new version beside one that made it current', { timeout: 60_000 }, async () => {
    const knowing = await container(staged);
    const current = await container(promoted);
    await holdsBetween('phase-2', knowing, current);
    // They do differ: new tokens carry the version each container makes current.
    const ids = await Promise.all([knowing, current].map(async (c) => (await c.register(org, { token: c.rawToken('ids'), type: 'access', appId: 'phase-2', userId: 'bo' })).body.tokenId as string));
    expect([ids[0]?.startsWith('2.'), ids[1]?.startsWith('2.')], ids.join(' ')).toEqual([false, true]);
  });

  it('phase 2: RFC 7009 through one container racing the registration through the other leaves the value revoked, also once the remembered revocation expires', { timeout: 120_000 }, async () => {
    const knowing = await container(staged);
    const current = await container(promoted);
    await current.createApp(org, 'raced');
    const db = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'us-east-1' });
    for (let n = 0; n < 12; n++) {
      const userId = `raced-${n}`;
      const refresh = current.rawToken('raced');
      const [registered, revoked] = await Promise.all([
        current.register(org, { token: refresh, type: 'refresh', appId: 'raced', userId }),
        knowing.call('revoke', { claims: knowing.as(org), form: { token: refresh } }),
      ]);
      expect(revoked.status).toBe(200);
      expect([201, 409]).toContain(registered.status);
      // Whichever committed first, the value is revoked: nothing hangs on it, by id or by rotation.
      if (registered.status === 201) {
        const byId = { appId: 'raced', userId };
        expect((await current.register(org, { ...byId, token: current.rawToken('child'), type: 'access', refreshTokenId: registered.body.tokenId })).status).toBe(409);
        expect((await current.register(org, { ...byId, token: current.rawToken('next'), type: 'refresh', previousRefreshTokenId: registered.body.tokenId })).status).toBe(409);
      }
      // DynamoDB's TTL ends a remembered revocation a day on; the value must not come back with it.
      const markers = await db.send(new ScanCommand({ TableName: process.env.TABLE_NAME, FilterExpression: 'entity = :e', ExpressionAttributeValues: { ':e': { S: 'RevokedValue' } } }));
      for (const item of markers.Items ?? []) await db.send(new DeleteItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: item.pk!, sk: item.sk! } }));
      for (const c of [knowing, current]) expect((await c.call('introspect', { claims: c.as(org), form: { token: refresh } })).body).toEqual({ active: false });
    }
    const app = (await current.call('getApp', { claims: current.as(org), path: { appId: 'raced' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
    expect((await current.call('listAppUsers', { claims: current.as(org), path: { appId: 'raced' } })).body.items).toEqual([]);
  });

  it('registers a whole grant of ten tokens however many versions the secret keeps (each registration checks two at most)', { timeout: 60_000 }, async () => {
    const keys = Object.fromEntries(Array.from({ length: 12 }, (_, n) => [n + 1, Buffer.alloc(32, n + 20).toString('base64')]));
    const many = await container(JSON.stringify({ current: 11, keys }));
    await many.createApp(org, 'many-versions');
    const refresh = many.rawToken('many');
    const tokens = [{ token: refresh, type: 'refresh' }, ...Array.from({ length: 9 }, () => ({ token: many.rawToken('many'), type: 'access', refreshToken: refresh }))];
    const grant = await many.register(org, { tokens: tokens.map((t) => ({ ...t, appId: 'many-versions', userId: 'ada' })) });
    expect(grant.status, grant.text).toBe(201);
  });

  it('a phase skipped: a revocation through the container without the new version still ends the token for both', { timeout: 60_000 }, async () => {
    const old = await container(v1);
    const current = await container(promoted);
    await current.createApp(org, 'skipped');
    const token = current.rawToken('skipped');
    expect((await current.register(org, { token, type: 'access', appId: 'skipped', userId: 'ada' })).status).toBe(201);
    // The old container cannot find the new version's item: it remembers the value as revoked under its own version…
    expect((await old.call('revoke', { claims: old.as(org), form: { token } })).status).toBe(200);
    // …and that tombstone wins over the live item wherever both are read.
    for (const c of [old, current]) expect((await c.introspect(org, token)).body).toEqual({ active: false });
    expect((await current.register(org, { token, type: 'access', appId: 'skipped', userId: 'ada' })).status).toBe(409);
  });
});

