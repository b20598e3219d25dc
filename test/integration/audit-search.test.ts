import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { auditKeys } from '../../shared/db/audit-event.js';
import { indexAuditEvents } from '../../shared/db/migrations.js';
import { getItem } from '../../shared/db/requests.js';
import { table } from '../../shared/db/table.js';
import { as, call, createApp } from '../support/api.js';

/** GET /v1/audit-events with every filter (contract section 5): one Query a page, on the index of one filter and time. */
const org = 'org-audit-search';
const admin = as(org);
const other = as(org, { sub: 'other-admin@example.com' });
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

type Event = { eventId: string; at: string; action: string; appId: string | null; userId: string | null; actor: { sub: string } };
let commands: string[] = [];
dynamo.middlewareStack.add((next, context) => async (args) => {
  commands.push(String(context.commandName));
  return next(args);
}, { step: 'initialize', name: 'countAuditRequests' });

/** Every page of the filtered log, walked with its cursors: the events, and the DynamoDB requests of each page. */
async function walk(query: Record<string, string | string[]>, limit = 2) {
  const events: Event[] = [];
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    commands = [];
    const params = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    for (const [name, value] of Object.entries(query)) for (const v of [value].flat()) params.append(name, v);
    const reply = await call('listAuditEvents', { claims: admin, query: Object.fromEntries([...new Set(params.keys())].map((k) => [k, params.getAll(k).join(',')])) });
    expect(reply.status, reply.text).toBe(200);
    pages.push(commands.filter((c) => c === 'QueryCommand' || c === 'BatchGetItemCommand' || c === 'ScanCommand'));
    events.push(...(reply.body.items as Event[]));
    cursor = (reply.body.nextCursor as string | null) ?? undefined;
  } while (cursor);
  return { events, pages };
}

/** At T0 + minutes: app changes by two admins in two apps, and approvals of two users. */
async function seed() {
  const at = (minutes: number) => vi.setSystemTime(T0 + minutes * 60_000);
  vi.useFakeTimers({ toFake: ['Date'], now: T0 });
  at(0);
  await createApp(org, 'alpha');
  at(1);
  await createApp(org, 'beta');
  at(2);
  expect((await call('updateSettings', { claims: other, path: { appId: 'alpha' }, json: { description: 'first' } })).status).toBe(200);
  at(3);
  expect((await call('approveUser', { claims: admin, path: { appId: 'alpha', userId: 'ada' } })).status).toBe(201);
  at(4);
  expect((await call('approveUser', { claims: other, path: { appId: 'beta', userId: 'ada' } })).status).toBe(201);
  at(5);
  expect((await call('updateSettings', { claims: other, path: { appId: 'beta' }, json: { description: 'second' } })).status).toBe(200);
  at(6);
  expect((await call('approveUser', { claims: other, path: { appId: 'alpha', userId: 'bob' } })).status).toBe(201);
  vi.useRealTimers();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('GET /v1/audit-events filters', () => {
  it('narrows by action, actor, app, user and time in any combination, exactly, newest first, each page one Query (and one BatchGetItem at most)', async () => {
    await seed();
    const all = (await walk({}, 100)).events;
    expect(all).toHaveLength(7);
    const expected = (keep: (e: Event) => boolean) => all.filter(keep).map((e) => e.eventId);
    const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
    const cases: [Record<string, string | string[]>, (e: Event) => boolean][] = [
      [{ action: 'app.created' }, (e) => e.action === 'app.created'],
      [{ action: ['app.created', 'app.settings.updated'] }, (e) => ['app.created', 'app.settings.updated'].includes(e.action)],
      [{ actor: other.sub as string }, (e) => e.actor.sub === other.sub],
      [{ actor: other.sub as string, action: 'app.approved-users.changed' }, (e) => e.actor.sub === other.sub && e.action === 'app.approved-users.changed'],
      [{ appId: 'alpha', action: 'app.approved-users.changed' }, (e) => e.appId === 'alpha' && e.action === 'app.approved-users.changed'],
      [{ userId: 'ada', actor: other.sub as string }, (e) => e.userId === 'ada' && e.actor.sub === other.sub],
      [{ appId: 'alpha', userId: 'ada', action: 'app.approved-users.changed', actor: admin.sub as string }, (e) => e.appId === 'alpha' && e.userId === 'ada' && e.actor.sub === admin.sub],
      // since inclusive, until exclusive, to the millisecond
      [{ since: iso(2), until: iso(5) }, (e) => e.at >= iso(2) && e.at < iso(5)],
      [{ since: '2026-11-20T11:03:00+01:00' }, (e) => e.at >= iso(3)],
      [{ until: iso(1), action: 'app.created' }, (e) => e.at < iso(1) && e.action === 'app.created'],
      [{ appId: 'beta', since: iso(1), until: new Date(T0 + 5 * 60_000 + 1).toISOString(), actor: other.sub as string }, (e) => e.appId === 'beta' && e.at >= iso(1) && e.at <= iso(5) && e.actor.sub === other.sub],
    ];
    for (const [query, keep] of cases) {
      const { events, pages } = await walk(query);
      expect(events.map((e) => e.eventId), JSON.stringify(query)).toEqual(expected(keep));
      for (const page of pages) {
        expect(page.filter((c) => c === 'QueryCommand'), JSON.stringify(query)).toHaveLength(1);
        expect(page.filter((c) => c === 'BatchGetItemCommand').length).toBeLessThanOrEqual(1);
        expect(page).not.toContain('ScanCommand');
      }
    }
  });

  it('answers 400 naming the field for a bad filter, and for a cursor of other filters', async () => {
    const refused = async (query: Record<string, string>) => {
      const reply = await call('listAuditEvents', { claims: admin, query });
      return [reply.status, (reply.body.errors as { path: string }[] | undefined)?.map((e) => e.path)];
    };
    expect(await refused({ action: 'app.deleted' })).toEqual([400, ['query.action']]);
    expect(await refused({ since: 'yesterday' })).toEqual([400, ['query.since']]);
    expect(await refused({ since: '2026-11-20T10:00:00Z', until: '2026-11-20T10:00:00Z' })).toEqual([400, ['query.until']]);
    expect(await refused({ actor: '' })).toEqual([400, ['query.actor']]);
    const first = await call('listAuditEvents', { claims: admin, query: { limit: '1', action: 'app.created' } });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(await refused({ cursor: first.body.nextCursor as string, action: 'app.settings.updated' })).toEqual([400, ['query.cursor']]);
  });

  it('npm run migrate gives events an older version wrote their entries by actor and action, once', async () => {
    const { events } = await walk({ action: 'app.created' }, 100);
    const legacy = events[0] as Event;
    // As an older version wrote it: no entry by actor or action.
    const { gsi4, gsi6 } = table.indexes;
    await db.send(new UpdateCommand({
      TableName, Key: auditKeys.event(org, legacy.eventId), UpdateExpression: 'REMOVE #a, #b, #c, #d',
      ExpressionAttributeNames: { '#a': gsi4.partitionKey, '#b': gsi4.sortKey, '#c': gsi6.partitionKey, '#d': gsi6.sortKey },
    }));
    expect((await walk({ action: 'app.created' }, 100)).events.map((e) => e.eventId)).not.toContain(legacy.eventId);
    const report = await indexAuditEvents();
    expect(report).toMatchObject({ complete: true, updated: 1 });
    expect((await walk({ action: 'app.created' }, 100)).events.map((e) => e.eventId)).toContain(legacy.eventId);
    expect((await walk({ actor: legacy.actor.sub }, 100)).events.map((e) => e.eventId)).toContain(legacy.eventId);
    expect((await indexAuditEvents()).updated).toBe(0);
  });
});

describe('audit retention', () => {
  it('an event expires its org\'s retention after it (365 days unless an operator set another), a change applying to the events written after it', async () => {
    const { setAuditRetentionDays } = await import('../../shared/db/audit-retention.js');
    const retainedOrg = 'org-audit-retention';
    const expiryOf = async (appId: string) => {
      const reply = await call('listAuditEvents', { claims: as(retainedOrg), query: { appId } });
      const event = (reply.body.items as Event[])[0] as Event;
      const item = await getItem(auditKeys.event(retainedOrg, event.eventId));
      return (Number(item?.[table.ttlAttribute]) - Math.ceil(Date.parse(event.at) / 1000)) / 86_400;
    };
    await createApp(retainedOrg, 'before');
    await setAuditRetentionDays(retainedOrg, 30);
    await createApp(retainedOrg, 'after');
    await setAuditRetentionDays(retainedOrg, null);
    await createApp(retainedOrg, 'again');
    expect([await expiryOf('before'), await expiryOf('after'), await expiryOf('again')]).toEqual([365, 30, 365]);
  });
});
