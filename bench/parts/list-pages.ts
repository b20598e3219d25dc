import pMap from 'p-map';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, rawToken, register } from '../../test/support/api.js';
import { round, type Metric } from '../metric.js';
import { recordRequests } from '../request-counter.js';

const org = 'bench-lists';
const LIMIT = '5';

/** One page of every list endpoint, as an admin would ask for it. */
const pages: [string, () => ReturnType<typeof call>][] = [
  ['apps (active)', () => call('listApps', { claims: as(org), query: { limit: LIMIT } })],
  ['apps (all)', () => call('listApps', { claims: as(org), query: { limit: LIMIT, all: 'true' } })],
  ['apps (name prefix)', () => call('listApps', { claims: as(org), query: { limit: LIMIT, all: 'true', q: 'app' } })],
  ['app users by id', () => call('listAppUsers', { claims: as(org), path: { appId: 'big' }, query: { limit: LIMIT } })],
  ['app users by last use', () => call('listAppUsers', { claims: as(org), path: { appId: 'big' }, query: { limit: LIMIT, sort: '-lastUsedAt' } })],
  ['user apps', () => call('listUserApps', { claims: as(org), path: { userId: 'everywhere' }, query: { limit: LIMIT } })],
  ['user tokens', () => call('listUserTokens', { claims: as(org), path: { appId: 'big', userId: 'everywhere' }, query: { limit: LIMIT } })],
  ['audit', () => call('listAuditEvents', { claims: as(org), query: { limit: LIMIT } })],
  ['audit by app', () => call('listAuditEvents', { claims: as(org), query: { limit: LIMIT, appId: 'big' } })],
  ['jobs', () => call('listRevocationJobs', { claims: as(org), query: { limit: LIMIT } })],
  ['jobs by app and status', () => call('listRevocationJobs', { claims: as(org), query: { limit: LIMIT, appId: 'big', status: 'scheduled' } })],
];

/**
 * The list pages whose cost must not depend on the table's size, with the seeding that grows the
 * org: shared by this benchmark and test/integration/list-cost.test.ts.
 */
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
let seededApps = 0;
let seededUsers = 0;
/** Grows the org to `apps` apps, `users` users of app `big`, as many tokens of user `everywhere`, and audit events and jobs. */
export async function seedLists(apps: number, users: number) {
  if (seededApps === 0) await createApp(org, 'big', { name: 'App big' });
  const later = new Date(Date.now() + 86_400_000).toISOString();
  for (let i = seededApps; i < apps; i++) {
    await call('updateSettings', { claims: as(org), path: { appId: 'big' }, json: { description: `change ${i}` } });
    await call('requestRevocation', { claims: as(org), path: { appId: 'big' }, json: { all: true, runAt: later } });
  }
  await pMap(range(Math.max(seededApps, 1), apps), async (i) => {
    await createApp(org, `app-${i}`, { name: `App ${i}` });
    await register(org, { token: rawToken(), type: 'access', appId: `app-${i}`, userId: 'everywhere' });
  }, { concurrency: 8 });
  await pMap(range(seededUsers, users), async (i) => {
    await register(org, { token: rawToken(), type: 'access', appId: 'big', userId: `user-${i}` });
    await register(org, { token: rawToken(), type: 'access', appId: 'big', userId: 'everywhere' });
  }, { concurrency: 8 });
  seededApps = apps;
  seededUsers = users;
}

export type PageCosts = Map<string, { requests: string[]; itemsRead: number }>;

/** Each page's requests (sorted) and items read; throws if a page does not answer `limit` items. */
export async function measurePages(named: [string, () => ReturnType<typeof call>][], limit: number): Promise<PageCosts> {
  const counter = recordRequests(dynamo);
  const result: PageCosts = new Map();
  for (const [name, page] of named) {
    const reply = await counter.during(page);
    if (reply.status !== 200 || (reply.body.items ?? []).length !== limit) throw new Error(`${name}: ${reply.status} ${reply.text}`);
    result.set(name, { requests: counter.commands().sort(), itemsRead: counter.itemsRead() });
  }
  counter.dispose();
  return result;
}

/** The worst ratio of items a page read at 10× to what it read at 1×. */
export const itemsReadGrowth = (small: PageCosts, large: PageCosts) => Math.max(...[...large].map(([name, cost]) => cost.itemsRead / (small.get(name)?.itemsRead ?? 1)));

/** Each list page's requests and items read; throws if a page does not answer a full page. */
export const measureLists = () => measurePages(pages, Number(LIMIT));

/**
 * An audit page with every filter but the user (app, action, actor, since, until): one Query of the
 * app's events, the rest applied to what it read, so it may come back short (not a full page).
 */
async function auditWithEveryFilter(): Promise<{ queries: number; requests: number; itemsRead: number }> {
  const counter = recordRequests(dynamo);
  const query = { limit: LIMIT, appId: 'big', action: 'app.settings.updated', actor: as(org).sub as string, since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 3_600_000).toISOString() };
  const reply = await counter.during(() => call('listAuditEvents', { claims: as(org), query }));
  if (reply.status !== 200) throw new Error(`audit with every filter: ${reply.status} ${reply.text}`);
  const commands = counter.commands();
  const cost = { queries: commands.filter((c) => c === 'QueryCommand').length, requests: commands.length, itemsRead: counter.itemsRead() };
  counter.dispose();
  return cost;
}

/** Every list endpoint's first page, with the org at 1× and at 10× the rows. */
export async function measureListPages(): Promise<Metric[]> {
  await seedLists(6, 12);
  const small = await measureLists();
  const auditSmall = await auditWithEveryFilter();
  await seedLists(60, 120);
  const large = await measureLists();
  const auditLarge = await auditWithEveryFilter();
  const all = [...small.values(), ...large.values()];
  const growth = itemsReadGrowth(small, large);
  return [
    { name: 'auditPage.everyFilter.queries', value: Math.max(auditSmall.queries, auditLarge.queries), unit: 'Query per page (app, action, actor, since, until)', limit: { max: 1 } },
    { name: 'auditPage.everyFilter.itemsReadGrowth10x', value: round(auditLarge.itemsRead / auditSmall.itemsRead), unit: 'ratio (10× the events)', limit: { max: 1 } },
    { name: 'listPage.requests', value: Math.max(...all.map((c) => c.requests.length)), unit: 'requests (worst page)', limit: { max: 2 } },
    { name: 'listPage.queries', value: Math.max(...all.map((c) => c.requests.filter((r) => r === 'QueryCommand').length)), unit: 'Query per page (worst)', limit: { max: 1 } },
    { name: 'listPage.itemsReadGrowth10x', value: round(growth), unit: 'ratio (worst page)', limit: { max: 1 } },
  ];
}
