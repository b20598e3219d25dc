import { afterEach, describe, expect, it, vi } from 'vitest';
import { countUse } from '../../shared/db/usage-day.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

/** Usage over time (contract section 5): uses and users by day, counted on introspection's write. */
const org = 'org-usage-days';
const admin = as(org);
const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);

type AppDay = { date: string; uses: number; activeUsers: number };
const appUsage = async (appId: string, query: Record<string, string> = {}) => {
  const reply = await call('getAppUsage', { claims: admin, path: { appId }, query });
  expect(reply.status, reply.text).toBe(200);
  return reply.body.days as AppDay[];
};
const userUsage = async (appId: string, userId: string, query: Record<string, string> = {}) => {
  const reply = await call('getUserUsage', { claims: admin, path: { appId, userId }, query });
  expect(reply.status, reply.text).toBe(200);
  return reply.body.days as { date: string; uses: number }[];
};
const holding = async (appId: string, userId?: string) => {
  const token = rawToken(userId ?? 'client');
  expect((await register(org, { token, type: 'access', appId, ...(userId ? { userId } : {}) })).status).toBe(201);
  return token;
};
const use = async (token: string, times = 1) => {
  for (let i = 0; i < times; i++) expect((await introspect(org, token)).body).toMatchObject({ active: true });
};

afterEach(() => {
  vi.useRealTimers();
});

describe('GET /v1/apps/{appId}/usage and …/users/{userId}/usage', () => {
  it('counts each active introspection on its day, and each user once a day, the client\'s own tokens in the uses only', async () => {
    await createApp(org, 'days');
    // Yesterday: Ada twice.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - DAY_MS });
    const ada = await holding('days', 'ada');
    await use(ada, 2);
    vi.useRealTimers();
    // Today: Ada three times, Bob once, the client twice; an inactive introspection counts nothing.
    const bob = await holding('days', 'bob');
    const client = await holding('days');
    await use(ada, 3);
    await use(bob);
    await use(client, 2);
    expect((await introspect(org, rawToken('unknown'))).body).toEqual({ active: false });

    const days = await appUsage('days');
    expect(days).toHaveLength(30);
    expect(days.map((d) => d.date)).toEqual(Array.from({ length: 30 }, (_, i) => day(i - 29)));
    expect(days.slice(-2)).toEqual([{ date: day(-1), uses: 2, activeUsers: 1 }, { date: day(0), uses: 6, activeUsers: 2 }]);
    expect(days.slice(0, -2).every((d) => d.uses === 0 && d.activeUsers === 0)).toBe(true);
    expect((await userUsage('days', 'ada')).slice(-2)).toEqual([{ date: day(-1), uses: 2 }, { date: day(0), uses: 3 }]);
    expect((await userUsage('days', 'bob', { from: day(0) }))).toEqual([{ date: day(0), uses: 1 }]);
    // A revoked token's past uses stay; a user who never used the app has zeros.
    expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'days', userId: 'bob' } })).status).toBe(202);
    expect(await userUsage('days', 'bob', { from: day(0) })).toEqual([{ date: day(0), uses: 1 }]);
    expect(await userUsage('days', 'nobody', { from: day(-1) })).toEqual([{ date: day(-1), uses: 0 }, { date: day(0), uses: 0 }]);
  });

  it('counts a user once on a day whose first uses race, and every use', async () => {
    await createApp(org, 'race');
    // Each user's first uses read no use today, so each tries to make the user's day (transactions that also meet
    // each other); later ones read today's use and add to the user's day, which must not take its making from a first.
    const users = ['carol', 'dan', 'erin', 'frank'];
    const tokens = await Promise.all(users.flatMap((user) => Array.from({ length: 5 }, () => holding('race', user))));
    await Promise.all(tokens.flatMap((token) => [introspect(org, token), introspect(org, token), introspect(org, token)]));
    expect(await appUsage('race', { from: day(0) })).toEqual([{ date: day(0), uses: 60, activeUsers: 4 }]);
    for (const user of users) expect(await userUsage('race', user, { from: day(0) })).toEqual([{ date: day(0), uses: 15 }]);
  });

  it('counts the user when a use that read today\'s last use lands before the day\'s first', async () => {
    await createApp(org, 'late-first');
    // Two uses at the start of Dan's day: the second read the first's last use, and its count lands first.
    const at = new Date().toISOString();
    await countUse({ orgId: org, appId: 'late-first', userId: 'dan' }, at, false);
    await countUse({ orgId: org, appId: 'late-first', userId: 'dan' }, at, true);
    expect(await appUsage('late-first', { from: day(0) })).toEqual([{ date: day(0), uses: 2, activeUsers: 1 }]);
    expect(await userUsage('late-first', 'dan', { from: day(0) })).toEqual([{ date: day(0), uses: 2 }]);
  });

  it('takes from and to as the contract gives them, and answers 400 naming the field for a bad range', async () => {
    await createApp(org, 'ranges');
    const dates = async (query: Record<string, string>) => (await appUsage('ranges', query)).map((d) => d.date);
    expect(await dates({ from: day(-2), to: day(-1) })).toEqual([day(-2), day(-1)]);
    expect(await dates({ from: day(-2) })).toEqual([day(-2), day(-1), day(0)]);
    expect(await dates({ to: day(-3) })).toEqual(Array.from({ length: 30 }, (_, i) => day(i - 32)));
    expect(await dates({ from: day(-89) })).toHaveLength(90);
    const refused = async (query: Record<string, string>) => {
      const reply = await call('getAppUsage', { claims: admin, path: { appId: 'ranges' }, query });
      return [reply.status, (reply.body.errors as { path: string }[] | undefined)?.map((e) => e.path)];
    };
    expect(await refused({ from: day(-90) })).toEqual([400, ['query.from']]);
    expect(await refused({ to: day(-70) })).toEqual([400, ['query.to']]); // it would start before today − 89
    expect(await refused({ from: day(-1), to: day(-2) })).toEqual([400, ['query.from']]);
    expect(await refused({ to: day(1) })).toEqual([400, ['query.to']]);
    expect(await refused({ from: '2026-02-30' })).toEqual([400, ['query.from']]);
    expect(await refused({ from: '2026-1-5' })).toEqual([400, ['query.from']]);
    expect(await refused({ since: day(0) })).toEqual([400, ['query.since']]);
    // An unknown app, or another org's: 404 (a user's usage too).
    expect((await call('getAppUsage', { claims: admin, path: { appId: 'missing' } })).status).toBe(404);
    expect((await call('getUserUsage', { claims: as('org-usage-other'), path: { appId: 'ranges', userId: 'ada' } })).status).toBe(404);
  });
});
