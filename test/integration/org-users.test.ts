import { describe, expect, it } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

/** GET /v1/users (contract section 5): the org's users, found by a prefix of their id or name. */
const org = 'org-users-list';
const admin = as(org);

type OrgUser = { userId: string; userName: string | null; appCount: number; activeTokenCount: number; lastUsedAt: string | null; blocked: boolean };
const list = async (query: Record<string, string> = {}) => {
  const reply = await call('listUsers', { claims: admin, query });
  expect(reply.status, reply.text).toBe(200);
  return reply.body as unknown as { items: OrgUser[]; nextCursor: string | null };
};
const ids = async (query: Record<string, string> = {}) => (await list(query)).items.map((u) => u.userId);
/** Every page of a list, walked with its cursors. */
const walk = async (query: Record<string, string>) => {
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ ...query, ...(cursor ? { cursor } : {}) });
    seen.push(...page.items.map((u) => u.userId));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return seen;
};

describe('GET /v1/users', () => {
  it('lists the users holding tokens in any app, by id case-insensitively, with their apps, tokens, last use and block', async () => {
    for (const appId of ['a', 'b', 'c']) await createApp(org, appId);
    const held = async (appId: string, userId: string, userName?: string) => {
      const token = rawToken(userId);
      expect((await register(org, { token, type: 'access', appId, userId, ...(userName ? { userName } : {}) })).status).toBe(201);
      return token;
    };
    const used = await held('a', 'Ada', 'Ada Lovelace');
    await held('b', 'Ada', 'Ada Lovelace');
    await held('b', 'Ada');
    await held('c', 'adam', 'Adam Smith');
    await held('a', 'bob', 'Bobby Tables');
    await held('b', 'Carol', 'ada fan');
    await held('c', 'gone');
    expect((await introspect(org, used)).body.active).toBe(true);
    expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'c', userId: 'gone' } })).status).toBe(202);

    const all = await list();
    expect(all.items.map((u) => u.userId)).toEqual(['Ada', 'adam', 'bob', 'Carol']);
    expect(all.items[0]).toEqual({ userId: 'Ada', userName: 'Ada Lovelace', appCount: 2, activeTokenCount: 3, lastUsedAt: expect.any(String), blocked: false });
    expect(all.items[1]).toEqual({ userId: 'adam', userName: 'Adam Smith', appCount: 1, activeTokenCount: 1, lastUsedAt: null, blocked: false });

    // A prefix of the id or of the whole name, case-insensitive.
    expect(await ids({ q: 'ad' })).toEqual(['Ada', 'adam', 'Carol']);
    expect(await ids({ q: 'ADA L' })).toEqual(['Ada']);
    expect(await ids({ q: 'bobby' })).toEqual(['bob']);
    expect(await ids({ q: 'tables' })).toEqual([]);
    expect((await list({ q: 'ad' })).items.find((u) => u.userId === 'Carol')).toMatchObject({ userName: 'ada fan', appCount: 1 });

    // Pages of one: every user once, in order, with and without q.
    expect(await walk({ limit: '1' })).toEqual(['Ada', 'adam', 'bob', 'Carol']);
    expect(await walk({ limit: '1', q: 'ad' })).toEqual(['Ada', 'adam', 'Carol']);

    // Blocked users are listed whether or not they hold tokens, and flagged in the list.
    expect((await call('blockUser', { claims: admin, path: { userId: 'bob' } })).status).toBe(200);
    expect((await call('blockUser', { claims: admin, path: { userId: 'dan' } })).status).toBe(200);
    const blocked = await list({ blocked: 'true' });
    expect(blocked.items).toEqual([
      expect.objectContaining({ userId: 'bob', blocked: true, appCount: 1, activeTokenCount: 1 }),
      { userId: 'dan', userName: null, appCount: 0, activeTokenCount: 0, lastUsedAt: null, blocked: true },
    ]);
    expect((await list()).items.find((u) => u.userId === 'bob')?.blocked).toBe(true);

    // An offboarded user is gone from the list at once.
    expect((await call('offboardUser', { claims: admin, path: { userId: 'Ada' }, json: {} })).status).toBe(202);
    expect(await ids()).toEqual(['adam', 'bob', 'Carol']);
    expect(await ids({ q: 'ada l' })).toEqual([]);
  });

  it('lists each user once with all their apps, in pages of any size, whatever the apps they hold or the names they had', async () => {
    const many = 'org-users-many';
    const apps = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    for (const appId of apps) await createApp(many, appId);
    for (const appId of apps) expect((await register(many, { token: rawToken('m'), type: 'access', appId, userId: 'many', userName: 'Many Apps' })).status).toBe(201);
    expect((await register(many, { token: rawToken('z'), type: 'access', appId: 'p1', userId: 'zed', userName: 'Many Z' })).status).toBe(201);
    // Known by another name in another app: the latest name is the user's.
    expect((await register(many, { token: rawToken('x'), type: 'access', appId: 'p1', userId: 'u-x', userName: 'Qa Alpha' })).status).toBe(201);
    expect((await register(many, { token: rawToken('y'), type: 'access', appId: 'p1', userId: 'u-y', userName: 'Qa Mid' })).status).toBe(201);
    expect((await register(many, { token: rawToken('x2'), type: 'access', appId: 'p2', userId: 'u-x', userName: 'Qa Zulu' })).status).toBe(201);
    const walkOf = async (query: Record<string, string>) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const reply = await call('listUsers', { claims: as(many), query: { ...query, ...(cursor ? { cursor } : {}) } });
        const page = reply.body as unknown as { items: OrgUser[]; nextCursor: string | null };
        seen.push(...page.items.map((u) => `${u.userId}:${u.appCount}:${u.userName}`));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return seen;
    };
    const everyone = ['many:6:Many Apps', 'u-x:2:Qa Zulu', 'u-y:1:Qa Mid', 'zed:1:Many Z'];
    expect(await walkOf({})).toEqual(everyone);
    expect(await walkOf({ limit: '1' })).toEqual(everyone);
    expect(await walkOf({ limit: '1', q: 'many' })).toEqual(['many:6:Many Apps', 'zed:1:Many Z']);
    expect(await walkOf({ limit: '1', q: 'qa' })).toEqual(['u-y:1:Qa Mid', 'u-x:2:Qa Zulu']);
    expect(await walkOf({ q: 'qa alpha' })).toEqual([]);
  });

  it('answers 400 naming the parameter for a bad query', async () => {
    const reply = await call('listUsers', { claims: admin, query: { blocked: 'yes' } });
    expect([reply.status, (reply.body.errors as { path: string }[]).map((e) => e.path)]).toEqual([400, ['query.blocked']]);
  });
});
