import { describe, expect, it } from 'vitest';
import { findToken, recordUse } from '../../shared/db/token.js';
import { hasher } from '../../shared/domain/hasher.js';
import type { Token } from '../../shared/model.js';
import { as, call, createApp, introspect, rawToken, register, type Reply } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

type Item = Record<string, unknown>;
const items = (reply: Reply) => reply.body.items as Item[];
const paths = (reply: Reply) => (reply.body.errors as { path: string }[]).map((e) => e.path);

/** Every page of a list, following nextCursor. */
async function allPages(name: Parameters<typeof call>[0], options: Parameters<typeof call>[1], limit: number) {
  const seen: Item[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const reply = await call(name, { ...options, query: { ...options?.query, limit: String(limit), ...(cursor ? { cursor } : {}) } });
    expect(reply.status, reply.text).toBe(200);
    seen.push(...items(reply));
    cursor = (reply.body.nextCursor as string | null) ?? undefined;
    pages++;
  } while (cursor);
  return { seen, pages };
}

describe('GET /v1/apps (OAuth Usage)', () => {
  const org = 'org-usage-list';

  it('lists only apps holding active tokens, by case-insensitive name, with live counts; ?all=true lists every app', async () => {
    await createApp(org, 'zeta', { name: 'zeta tools' });
    await createApp(org, 'alpha', { name: 'Alpha CRM' });
    await createApp(org, 'beta', { name: 'beta sync' });
    await createApp(org, 'idle', { name: 'Idle app' });
    for (const [appId, userId] of [['zeta', 'u1'], ['alpha', 'u1'], ['alpha', 'u2'], ['alpha', 'u2'], ['beta', 'u3']] as const) {
      expect((await register(org, { token: rawToken(), type: 'access', appId, userId })).status).toBe(201);
    }
    const active = await call('listApps', { claims: as(org) });
    expect(active.status).toBe(200);
    expect(items(active).map((a) => a.appId)).toEqual(['alpha', 'beta', 'zeta']);
    expect(items(active)[0]).toEqual({ appId: 'alpha', name: 'Alpha CRM', description: null, userCount: 2, activeTokenCount: 3, lastUsedAt: null, blocked: false });
    expect(active.body.nextCursor).toBeNull();

    const all = await call('listApps', { claims: as(org), query: { all: 'true' } });
    expect(items(all).map((a) => a.appId)).toEqual(['alpha', 'beta', 'idle', 'zeta']);
    expect(items(all)[2]).toMatchObject({ userCount: 0, activeTokenCount: 0 });
  });

  it('filters by a case-insensitive name prefix', async () => {
    const reply = await call('listApps', { claims: as(org), query: { all: 'true', q: 'ALP' } });
    expect(items(reply).map((a) => a.appId)).toEqual(['alpha']);
    expect(items(await call('listApps', { claims: as(org), query: { q: 'idle' } }))).toEqual([]);
  });

  it('drops an app from the active list when its last token is revoked, and shows lastUsedAt after use', async () => {
    const org2 = 'org-usage-drop';
    await createApp(org2, 'short-lived');
    const raw = rawToken();
    await register(org2, { token: raw, type: 'refresh', appId: 'short-lived', userId: 'u' });
    await introspect(org2, raw);
    const before = items(await call('listApps', { claims: as(org2) }));
    expect(before).toEqual([expect.objectContaining({ appId: 'short-lived', activeTokenCount: 1, lastUsedAt: expect.any(String) })]);
    await call('revoke', { claims: as(org2), form: { token: raw } });
    expect(items(await call('listApps', { claims: as(org2) }))).toEqual([]);
    // …and back when it gets a token again.
    await register(org2, { token: rawToken(), type: 'access', appId: 'short-lived', userId: 'v' });
    expect(items(await call('listApps', { claims: as(org2) })).map((a) => a.appId)).toEqual(['short-lived']);
  });

  it('pages through many apps without missing or repeating one', async () => {
    const org3 = 'org-usage-pages';
    const names = Array.from({ length: 11 }, (_, i) => `App ${String.fromCharCode(97 + ((i * 7) % 11))}`);
    for (const [i, name] of names.entries()) await createApp(org3, `p${i}`, { name });
    const { seen, pages } = await allPages('listApps', { claims: as(org3), query: { all: 'true' } }, 3);
    expect(pages).toBe(4);
    expect(seen.map((a) => a.name)).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  });

  it('never shows another org’s apps, and refuses bad parameters with 400', async () => {
    expect(items(await call('listApps', { claims: as('org-usage-nobody'), query: { all: 'true' } }))).toEqual([]);
    for (const [query, path] of [[{ limit: '0' }, 'query.limit'], [{ all: 'yes' }, 'query.all'], [{ q: '' }, 'query.q'], [{ sort: 'name' }, 'query.sort']] as const) {
      const reply = await call('listApps', { claims: as(org), query });
      expect(reply.status).toBe(400);
      expect(paths(reply)).toContain(path);
    }
    const cursor = (await call('listApps', { claims: as(org), query: { all: 'true', limit: '1' } })).body.nextCursor as string;
    expect((await call('listApps', { claims: as(org), query: { cursor } })).status).toBe(400); // a cursor of the ?all=true list
    expect((await call('listApps', { claims: as(org, { scope: 'apps:manage' }) })).status).toBe(403);
  });
});

describe('PATCH /v1/apps/{appId} and PUT /v1/apps/{appId}/policies', () => {
  const org = 'org-settings';

  it('changes settings, bumps the ETag, re-sorts the list by the new name and records what changed', async () => {
    await createApp(org, 'editable', { name: 'Editable' });
    const before = await call('getApp', { claims: as(org), path: { appId: 'editable' } });
    const patched = await call('updateSettings', {
      claims: as(org, { sub: 'editor@example.com' }), path: { appId: 'editable' },
      json: { name: 'Aardvark', description: 'first in line', callbackUrls: ['https://a.example.com/cb'] },
      headers: { 'if-match': before.headers.etag as string },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Aardvark', description: 'first in line', callbackUrls: ['https://a.example.com/cb'] });
    expect(patched.headers.etag).not.toBe(before.headers.etag);
    expect(Date.parse(patched.body.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(before.body.updatedAt as string));
    const read = await call('getApp', { claims: as(org), path: { appId: 'editable' } });
    expect(read.body).toEqual(patched.body);
    expect(read.headers.etag).toBe(patched.headers.etag);
    expect(items(await call('listApps', { claims: as(org), query: { all: 'true', q: 'aard' } })).map((a) => a.appId)).toEqual(['editable']);
    expect(items(await call('listApps', { claims: as(org), query: { all: 'true', q: 'edit' } }))).toEqual([]);

    const audit = items(await call('listAuditEvents', { claims: as(org), query: { appId: 'editable' } }));
    expect(audit.map((e) => e.action)).toEqual(['app.settings.updated', 'app.created']);
    expect(audit[0]).toMatchObject({
      actor: { sub: 'editor@example.com', kind: 'user' }, appId: 'editable',
      details: { changes: { name: { from: 'Editable', to: 'Aardvark' }, description: { from: null, to: 'first in line' }, callbackUrls: { from: [], to: ['https://a.example.com/cb'] } } },
    });
  });

  it('answers 412 for a stale If-Match and leaves the app unchanged; * and no If-Match apply', async () => {
    await createApp(org, 'guarded', { name: 'Guarded' });
    const etag = (await call('getApp', { claims: as(org), path: { appId: 'guarded' } })).headers.etag as string;
    expect((await call('updateSettings', { claims: as(org), path: { appId: 'guarded' }, json: { description: 'one' }, headers: { 'if-match': etag } })).status).toBe(200);
    const stale = await call('updateSettings', { claims: as(org), path: { appId: 'guarded' }, json: { description: 'two' }, headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toMatch(/precondition-failed$/);
    const stalePolicies = await call('replacePolicies', { claims: as(org), path: { appId: 'guarded' }, json: {}, headers: { 'if-match': etag } });
    expect(stalePolicies.status).toBe(412);
    expect((await call('getApp', { claims: as(org), path: { appId: 'guarded' } })).body.description).toBe('one');
    expect((await call('updateSettings', { claims: as(org), path: { appId: 'guarded' }, json: { description: 'three' }, headers: { 'if-match': '*' } })).status).toBe(200);
    expect((await call('updateSettings', { claims: as(org), path: { appId: 'guarded' }, json: { description: 'four' } })).body.description).toBe('four');
  });

  it('treats a patch that changes nothing as a no-op: same ETag, no event', async () => {
    await createApp(org, 'steady', { name: 'Steady' });
    const before = await call('getApp', { claims: as(org), path: { appId: 'steady' } });
    const reply = await call('updateSettings', { claims: as(org), path: { appId: 'steady' }, json: { name: 'Steady' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.etag).toBe(before.headers.etag);
    expect(items(await call('listAuditEvents', { claims: as(org), query: { appId: 'steady' } })).map((e) => e.action)).toEqual(['app.created']);
  });

  it('replaces the policies, which apply to existing tokens at once, and records from and to', async () => {
    await createApp(org, 'policed');
    const refresh = rawToken();
    await register(org, { token: refresh, type: 'refresh', appId: 'policed', userId: 'u' });
    expect((await introspect(org, refresh)).body.active).toBe(true);
    const reply = await call('replacePolicies', { claims: as(org), path: { appId: 'policed' }, json: { refreshTokenPolicy: { mode: 'expire-immediately' }, ipRelaxation: 'relax' } });
    expect(reply.status).toBe(200);
    expect(reply.body.policies).toEqual({
      refreshTokenPolicy: { mode: 'expire-immediately' }, accessTokenLifetimeMinutes: null,
      permittedUsers: 'all-users-self-authorize', ipRelaxation: 'relax', sessionTimeoutMinutes: null, refreshTokenReuseGraceSeconds: 0,
    });
    // Every shard carries the policies: introspection (which reads a random one) must see them every time.
    for (let i = 0; i < 12; i++) expect((await introspect(org, refresh)).body).toEqual({ active: false });
    const [event] = items(await call('listAuditEvents', { claims: as(org), query: { appId: 'policed' } }));
    expect(event).toMatchObject({ action: 'app.policies.updated', details: { from: { refreshTokenPolicy: { mode: 'until-revoked' } }, to: { refreshTokenPolicy: { mode: 'expire-immediately' } } } });
  });

  it('validates every field, refuses an empty patch, and hides other orgs’ apps (404)', async () => {
    await createApp(org, 'strict-fields');
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'body'],
      [{ appId: 'renamed' }, 'body.appId'],
      [{ policies: {} }, 'body.policies'],
      [{ name: '' }, 'body.name'],
      [{ name: 'bad\u0000name' }, 'body.name'],
      [{ contactEmail: 'nope' }, 'body.contactEmail'],
      [{ scopes: ['a b'] }, 'body.scopes.0'],
    ];
    for (const [json, path] of cases) {
      const reply = await call('updateSettings', { claims: as(org), path: { appId: 'strict-fields' }, json });
      expect(reply.status, JSON.stringify(json)).toBe(400);
      expect(paths(reply)).toContain(path);
    }
    for (const [json, path] of [
      [{ refreshTokenPolicy: { mode: 'expire-after', value: 0, unit: 'days' } }, 'body.refreshTokenPolicy.value'],
      [{ refreshTokenPolicy: { mode: 'expire-if-unused', value: 5 } }, 'body.refreshTokenPolicy.unit'],
      [{ accessTokenLifetimeMinutes: 1.5 }, 'body.accessTokenLifetimeMinutes'],
      [{ permittedUsers: 'everyone' }, 'body.permittedUsers'],
      [{ sessionTimeoutMinutes: -1 }, 'body.sessionTimeoutMinutes'],
      [{ surprise: true }, 'body.surprise'],
    ] as const) {
      const reply = await call('replacePolicies', { claims: as(org), path: { appId: 'strict-fields' }, json });
      expect(reply.status, JSON.stringify(json)).toBe(400);
      expect(paths(reply)).toContain(path);
    }
    expect((await call('updateSettings', { claims: as('org-settings-other'), path: { appId: 'strict-fields' }, json: { name: 'x' } })).status).toBe(404);
    expect((await call('replacePolicies', { claims: as('org-settings-other'), path: { appId: 'strict-fields' }, json: {} })).status).toBe(404);
    expect((await call('updateSettings', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'strict-fields' }, json: { name: 'x' } })).status).toBe(403);
    expect((await call('replacePolicies', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'strict-fields' }, json: {} })).status).toBe(403);
  });
});

describe('GET /v1/apps/{appId}/users (Usage by User) and GET /v1/users/{userId}/apps', () => {
  const org = 'org-usage-users';

  it('lists the users holding active tokens with first use, last use and number of uses, by userId or by last use', async () => {
    await createApp(org, 'people');
    await createApp(org, 'other');
    const tokens: Record<string, string> = {};
    for (const userId of ['carol', 'alice', 'bob', 'dave']) {
      tokens[userId] = rawToken();
      await register(org, { token: tokens[userId], type: 'access', appId: 'people', userId, userName: userId.toUpperCase() });
    }
    await register(org, { token: rawToken(), type: 'access', appId: 'other', userId: 'alice' });
    await introspect(org, tokens.bob as string);
    await introspect(org, tokens.alice as string);
    await introspect(org, tokens.alice as string);
    await call('revoke', { claims: as(org), form: { token: tokens.dave as string } });

    const byId = await call('listAppUsers', { claims: as(org), path: { appId: 'people' } });
    expect(byId.status).toBe(200);
    expect(items(byId).map((u) => u.userId)).toEqual(['alice', 'bob', 'carol']);
    const alice = items(byId)[0] as Item;
    expect(alice).toEqual({ userId: 'alice', userName: 'ALICE', firstUsedAt: expect.any(String), lastUsedAt: expect.any(String), useCount: 2, activeTokenCount: 1 });
    expect(Date.parse(alice.lastUsedAt as string)).toBeGreaterThanOrEqual(Date.parse(alice.firstUsedAt as string));
    expect(items(byId)[2]).toMatchObject({ userId: 'carol', firstUsedAt: null, lastUsedAt: null, useCount: 0 });

    const byLastUse = await call('listAppUsers', { claims: as(org), path: { appId: 'people' }, query: { sort: '-lastUsedAt' } });
    expect(items(byLastUse).map((u) => u.userId)).toEqual(['alice', 'bob', 'carol']);

    const apps = await call('listUserApps', { claims: as(org), path: { userId: 'alice' } });
    expect(items(apps).map((a) => a.appId)).toEqual(['other', 'people']);
    expect(items(apps)[1]).toMatchObject({ appId: 'people', userId: 'alice', useCount: 2, activeTokenCount: 1 });
    expect(items(await call('listUserApps', { claims: as(org), path: { userId: 'dave' } }))).toEqual([]);
  });

  it('pages through the users in both orders without missing or repeating one', async () => {
    await createApp(org, 'crowd');
    const users = Array.from({ length: 9 }, (_, i) => `user-${i}`);
    for (const userId of users) await register(org, { token: rawToken(), type: 'access', appId: 'crowd', userId });
    for (const sort of ['userId', '-lastUsedAt']) {
      const { seen, pages } = await allPages('listAppUsers', { claims: as(org), path: { appId: 'crowd' }, query: { sort } }, 4);
      expect(pages).toBe(3);
      expect(seen.map((u) => u.userId).sort()).toEqual(users);
    }
  });

  it('after an app-wide revocation lists only the users who registered since, at once and after its cleanup, in both orders and pages', { timeout: 30_000 }, async () => {
    const appId = 'epochs';
    await createApp(org, appId);
    const before: Record<string, string> = {};
    for (const userId of ['u1', 'u2', 'u3', 'u4']) {
      before[userId] = rawToken();
      await register(org, { token: before[userId], type: 'access', appId, userId });
    }
    await introspect(org, before.u1 as string);
    expect((await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true } })).status).toBe(202);
    for (const userId of ['u2', 'u5']) await register(org, { token: rawToken(), type: 'access', appId, userId });
    const lists = async () => ({
      byId: (await allPages('listAppUsers', { claims: as(org), path: { appId } }, 1)).seen.map((u) => u.userId),
      byLastUse: (await allPages('listAppUsers', { claims: as(org), path: { appId }, query: { sort: '-lastUsedAt' } }, 1)).seen.map((u) => u.userId),
      appsOf: await Promise.all(['u1', 'u2'].map(async (userId) => items(await call('listUserApps', { claims: as(org), path: { userId } })).map((a) => a.appId))),
    });
    const expected = { byId: ['u2', 'u5'], byLastUse: ['u5', 'u2'], appsOf: [[], [appId]] };
    expect(await lists()).toEqual(expected);
    // A use of a token read just before the revocation, recorded after the user registered again: the user stays listed.
    const stale = (await findToken(org, hasher.lookupKeysOf(before.u2 as string))) as Token;
    await recordUse(stale, new Date().toISOString(), true);
    expect(await lists()).toEqual(expected);
    await drainQueue();
    expect(await lists()).toEqual(expected);
  });

  it('answers 404 for an unknown or foreign app, 400 for a bad sort or id, 403 without usage:read', async () => {
    expect((await call('listAppUsers', { claims: as(org), path: { appId: 'ghost' } })).status).toBe(404);
    expect((await call('listAppUsers', { claims: as('org-usage-elsewhere'), path: { appId: 'people' } })).status).toBe(404);
    expect(items(await call('listUserApps', { claims: as('org-usage-elsewhere'), path: { userId: 'alice' } }))).toEqual([]);
    const badSort = await call('listAppUsers', { claims: as(org), path: { appId: 'people' }, query: { sort: 'lastUsedAt' } });
    expect(badSort.status).toBe(400);
    expect(paths(badSort)).toEqual(['query.sort']);
    expect(paths(await call('listUserApps', { claims: as(org), path: { userId: 'bad id' } }))).toEqual(['path.userId']);
    expect((await call('listAppUsers', { claims: as(org, { scope: 'apps:manage' }), path: { appId: 'people' } })).status).toBe(403);
  });
});

describe('GET /v1/audit-events', () => {
  const org = 'org-audit';

  it('lists events newest first, filters by app, pages, and keeps orgs apart', async () => {
    for (const appId of ['a1', 'a2', 'a3']) await createApp(org, appId);
    await call('updateSettings', { claims: as(org), path: { appId: 'a2' }, json: { description: 'changed' } });
    const { seen } = await allPages('listAuditEvents', { claims: as(org) }, 2);
    expect(seen.map((e) => [e.action, e.appId])).toEqual([['app.settings.updated', 'a2'], ['app.created', 'a3'], ['app.created', 'a2'], ['app.created', 'a1']]);
    expect(seen[1]).toEqual({
      eventId: expect.any(String), at: expect.any(String), actor: { sub: `admin@${org}`, kind: 'user' }, action: 'app.created',
      appId: 'a3', userId: null, tokenId: null, jobId: null, reason: null, details: expect.objectContaining({ name: 'App a3' }),
    });
    expect(items(await call('listAuditEvents', { claims: as(org), query: { appId: 'a2' } })).map((e) => e.action)).toEqual(['app.settings.updated', 'app.created']);
    expect(items(await call('listAuditEvents', { claims: as(org), query: { appId: 'a2', userId: 'someone' } }))).toEqual([]);
    expect(items(await call('listAuditEvents', { claims: as('org-audit-other') }))).toEqual([]);
  });

  it('refuses bad filters with 400 and needs usage:read', async () => {
    expect(paths(await call('listAuditEvents', { claims: as(org), query: { appId: 'a#1' } }))).toEqual(['query.appId']);
    expect(paths(await call('listAuditEvents', { claims: as(org), query: { action: 'x' } }))).toEqual(['query.action']);
    expect(paths(await call('listAuditEvents', { claims: as(org), query: { kind: 'x' } }))).toEqual(['query.kind']);
    expect((await call('listAuditEvents', { claims: as(org, { scope: 'tokens:write' }) })).status).toBe(403);
  });
});
