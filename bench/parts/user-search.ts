import pMap from 'p-map';
import { as, call, createApp, rawToken, register } from '../../test/support/api.js';
import { round, type Metric } from '../metric.js';
import { itemsReadGrowth, measurePages } from './list-pages.js';

const org = 'bench-user-search';
const APPS = ['mail', 'crm', 'wiki'];
const LIMIT = '10';

/**
 * The users pages an admin asks for: the org's first page (GET /v1/users), and a search that
 * matches ids and names, org-wide and in one app's Usage by User (each page reads both lists).
 */
const pages: [string, () => ReturnType<typeof call>][] = [
  ['users', () => call('listUsers', { claims: as(org), query: { limit: LIMIT } })],
  ['users by id or name prefix', () => call('listUsers', { claims: as(org), query: { limit: LIMIT, q: 'ad' } })],
  ['usage by user, by id or name prefix', () => call('listAppUsers', { claims: as(org), path: { appId: 'mail' }, query: { limit: LIMIT, q: 'ad' } })],
];

let seeded = 0;
/**
 * Grows the org to `users` users, each in two of three apps: the first four `ad-<n>` (what the
 * search finds by id), then every other one named `Adam <n>` (by name), the rest `Person <n>`. At
 * 30 users already, each page reads as many items as its Queries may: what a page reads is the
 * same at 10×. Shared by the benchmark and test/integration/list-cost.test.ts.
 */
export async function seedUsers(users: number) {
  if (seeded === 0) for (const appId of APPS) await createApp(org, appId);
  await pMap(Array.from({ length: users - seeded }, (_, i) => seeded + i), async (n) => {
    const [userId, userName] = n < 4 ? [`ad-${n}`, `Person ${n}`] : n % 2 === 0 ? [`user-${n}`, `Adam ${n}`] : [`user-${n}`, `Person ${n}`];
    for (const appId of [APPS[n % 3], APPS[(n + 1) % 3]] as string[]) await register(org, { token: rawToken(), type: 'access', appId, userId, userName });
  }, { concurrency: 8 });
  seeded = users;
}

/** Each users page's requests (sorted) and items read; throws if a page is not full. */
export const measureUserPages = () => measurePages(pages, Number(LIMIT));

/** The users pages with the org at 1× and at 10× its users: at most two Queries, and the same items read. */
export async function measureUserSearch(): Promise<Metric[]> {
  await seedUsers(30);
  const small = await measureUserPages();
  await seedUsers(300);
  const large = await measureUserPages();
  const all = [...small.values(), ...large.values()];
  const growth = itemsReadGrowth(small, large);
  return [
    { name: 'userSearch.queries', value: Math.max(...all.map((c) => c.requests.filter((r) => r === 'QueryCommand').length)), unit: 'Query per page (worst)', limit: { max: 2 } },
    { name: 'userSearch.requests', value: Math.max(...all.map((c) => c.requests.length)), unit: 'requests (worst page)', limit: { max: 4 } },
    { name: 'userSearch.itemsReadGrowth10x', value: round(growth), unit: 'ratio (worst page)', limit: { max: 1 } },
  ];
}
