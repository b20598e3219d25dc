import { describe, expect, it } from 'vitest';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/** Usage by User's `?q=` (contract section 5): a prefix of the userId or of the userName, case-insensitive. */
const org = 'usage-search';
const admin = as(org);

const page = async (appId: string, query: Record<string, string>) => {
  const reply = await call('listAppUsers', { claims: admin, path: { appId }, query });
  expect(reply.status, reply.text).toBe(200);
  return reply.body as unknown as { items: { userId: string; userName: string | null; activeTokenCount: number }[]; nextCursor: string | null };
};
const ids = async (appId: string, query: Record<string, string>) => (await page(appId, query)).items.map((u) => u.userId);
/** Every page of a search, walked with its cursors. */
const walk = async (appId: string, query: Record<string, string>) => {
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(appId, { ...query, ...(cursor ? { cursor } : {}) });
    seen.push(...next.items.map((u) => u.userId));
    cursor = next.nextCursor ?? undefined;
  } while (cursor);
  return seen;
};
const held = async (appId: string, userId: string, userName?: string) => {
  expect((await register(org, { token: rawToken(userId), type: 'access', appId, userId, ...(userName ? { userName } : {}) })).status).toBe(201);
};

describe('GET /v1/apps/{appId}/users?q=', () => {
  it('finds the app\'s users by a prefix of their id, then of their name, case-insensitively, each once, and only while they hold tokens', async () => {
    await createApp(org, 'mail');
    await createApp(org, 'crm');
    const longName = `Ada ${'x'.repeat(150)} Lovelace`;
    await held('mail', 'Ada', 'Ada Lovelace');
    await held('mail', 'adam', 'Adam Smith');
    await held('mail', 'Carol', 'ada fan');
    await held('mail', 'dora', longName);
    await held('mail', 'bob', 'Bobby Tables');
    await held('crm', 'adele', 'Adele');
    // The app's own token (client credentials) is no user.
    expect((await register(org, { token: rawToken('client'), type: 'access', appId: 'mail' })).status).toBe(201);

    // By id (by userId), then by name (by name); a user whose id matches is listed once.
    expect(await ids('mail', { q: 'ad' })).toEqual(['Ada', 'adam', 'Carol', 'dora']);
    expect(await ids('mail', { q: 'ADA L' })).toEqual(['Ada']);
    expect(await ids('mail', { q: 'bobby t' })).toEqual(['bob']);
    expect(await ids('mail', { q: 'tables' })).toEqual([]);
    expect(await ids('crm', { q: 'ad' })).toEqual(['adele']);
    // A query longer than the search keys hold is matched in full.
    expect(await ids('mail', { q: longName.slice(0, 140).toUpperCase() })).toEqual(['dora']);
    expect(await ids('mail', { q: `${longName.slice(0, 140)}y` })).toEqual([]);
    expect((await page('mail', { q: 'carol' })).items).toEqual([expect.objectContaining({ userId: 'Carol', userName: 'ada fan', activeTokenCount: 1 })]);

    // Pages of one: every match once, in the same order.
    expect(await walk('mail', { q: 'ad', limit: '1' })).toEqual(['Ada', 'adam', 'Carol', 'dora']);

    // A revoked user is gone at once; after an app-wide revocation no one matches, and a new token is found again.
    expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'mail', userId: 'adam' } })).status).toBe(202);
    expect(await ids('mail', { q: 'ad' })).toEqual(['Ada', 'Carol', 'dora']);
    const first = await page('mail', { q: 'ad', limit: '1' });
    expect((await call('requestRevocation', { claims: admin, path: { appId: 'mail' }, json: { all: true } })).status).toBe(202);
    expect(await ids('mail', { q: 'ad' })).toEqual([]);
    expect(await ids('mail', { q: 'ad', cursor: first.nextCursor as string })).toEqual([]);
    await held('mail', 'adam', 'Adam Smith');
    expect(await ids('mail', { q: 'ad' })).toEqual(['adam']);
  });

  it('keeps its keys within DynamoDB\'s limits for the longest ids and names, and finds them', async () => {
    await createApp(org, 'long');
    const userId = '!"$'.repeat(85); // 255 characters, each escaped in keys: the longest keyed id
    const userName = '😀'.repeat(127); // 254 UTF-16 units, 508 bytes
    await held('long', userId, userName);
    expect(await ids('long', { q: '!"$!' })).toEqual([userId]);
    expect(await ids('long', { q: '😀'.repeat(120) })).toEqual([userId]);
    const everywhere = await call('listUsers', { claims: admin, query: { q: '😀😀' } });
    expect((everywhere.body.items ?? []).map((u) => u.userId)).toEqual([userId]);
  });

  it('answers 400 naming the parameter for q with the by-last-use order, and 404 for an unknown app', async () => {
    const sorted = await call('listAppUsers', { claims: admin, path: { appId: 'mail' }, query: { q: 'ad', sort: '-lastUsedAt' } });
    expect([sorted.status, (sorted.body.errors as { path: string }[]).map((e) => e.path)]).toEqual([400, ['query.sort']]);
    const empty = await call('listAppUsers', { claims: admin, path: { appId: 'mail' }, query: { q: '' } });
    expect([empty.status, (empty.body.errors as { path: string }[]).map((e) => e.path)]).toEqual([400, ['query.q']]);
    expect((await call('listAppUsers', { claims: admin, path: { appId: 'nope' }, query: { q: 'ad' } })).status).toBe(404);
  });
});
