import { describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';
import { recordRequests } from '../../bench/request-counter.js';

const org = 'org-list-cost';
const LIMIT = '5';

/** One page of every list endpoint, as an admin of `org` would ask for it. */
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

let seededApps = 0;
let seededUsers = 0;
/**
 * Grows the org to `apps` apps, `users` users of app `big`, as many tokens of user `everywhere`,
 * and one settings change and one scheduled revocation of `big` per app (audit events, jobs).
 */
async function seed(apps: number, users: number) {
  if (seededApps === 0) await createApp(org, 'big', { name: 'App big' });
  const later = new Date(Date.now() + 86_400_000).toISOString();
  for (let i = seededApps; i < apps; i++) {
    await call('updateSettings', { claims: as(org), path: { appId: 'big' }, json: { description: `change ${i}` } });
    await call('requestRevocation', { claims: as(org), path: { appId: 'big' }, json: { all: true, runAt: later } });
  }
  await inParallel(range(Math.max(seededApps, 1), apps), async (i) => {
    await createApp(org, `app-${i}`, { name: `App ${i}` });
    await register(org, { token: rawToken(), type: 'access', appId: `app-${i}`, userId: 'everywhere' });
  });
  await inParallel(range(seededUsers, users), async (i) => {
    await register(org, { token: rawToken(), type: 'access', appId: 'big', userId: `user-${i}` });
    await register(org, { token: rawToken(), type: 'access', appId: 'big', userId: 'everywhere' });
  });
  seededApps = apps;
  seededUsers = users;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
async function inParallel(values: number[], work: (value: number) => Promise<void>, width = 8) {
  for (let i = 0; i < values.length; i += width) await Promise.all(values.slice(i, i + width).map(work));
}

async function measure() {
  const counter = recordRequests(dynamo);
  try {
    const result: Record<string, { requests: string[]; itemsRead: number }> = {};
    for (const [name, page] of pages) {
      const reply = await counter.during(page);
      expect(reply.status, `${name}: ${reply.text}`).toBe(200);
      expect((reply.body.items ?? []).length, name).toBe(Number(LIMIT));
      result[name] = { requests: counter.commands().sort(), itemsRead: counter.itemsRead() };
    }
    return result;
  } finally {
    counter.dispose();
  }
}

describe('list pages cost the same whatever the table holds', () => {
  it('reads the same items with the same requests at 1× and 10× the rows', async () => {
    await seed(6, 12);
    const small = await measure();
    await seed(60, 120);
    const large = await measure();
    expect(large).toEqual(small);
    for (const [name, cost] of Object.entries(small)) {
      const queries = cost.requests.filter((r) => r === 'QueryCommand').length;
      const batchGets = cost.requests.filter((r) => r === 'BatchGetItemCommand').length;
      expect(queries, name).toBe(1);
      expect(batchGets, name).toBeLessThanOrEqual(1);
      expect(cost.requests.length - queries - batchGets, name).toBe(0);
    }
  });
});
