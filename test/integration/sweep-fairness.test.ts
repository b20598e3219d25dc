import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/event.js';
import { orgsWithDueWork } from '../../shared/db/due-index.js';
import { getDueCursors } from '../../shared/db/sweep-state.js';
import { dueKeys } from '../../shared/db/due-index.js';
import { tokenKeys } from '../../shared/db/token.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { scheduledJob, storeItems, storeJobs } from '../support/jobs.js';
import { drainQueue, runSweepRounds } from '../support/queue.js';

/** One sweep: the scheduled function, then every round it sent (their work stays on the work queue). */
async function sweep() {
  const { handler } = await import('../../functions/jobs/sweep.js');
  await handler({}, lambdaContext('sweep'));
  return runSweepRounds();
}

/**
 * One tenant cannot hold back another: whatever other orgs have due (hundreds of scheduled jobs
 * stored with far-future and odd-offset times before times were bounded, thousands of due
 * tokens, many orgs each with more due jobs than a round takes), an org's due job starts in the
 * first sweep after its runAt.
 */
const noisy = 'org-noisy';
const quiet = 'org-quiet';
let clock = Date.parse('2028-05-01T00:00:00.000Z');
const setClock = (at: number) => {
  clock = at;
  vi.setSystemTime(at);
};
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(clock);
});
afterAll(() => {
  vi.useRealTimers();
});

describe('the sweep between tenants', () => {
  it('starts another org\'s due job in the first sweep after its runAt, whatever one org stored in the due index', { timeout: 120_000 }, async () => {
    await createApp(noisy, 'noisy');
    // Stored before times were bounded, straight into the table: 250 jobs due in the year 10000
    // (their keys sort before every real time) and 100 whose offsets put their keys before now although they are due later.
    const farFuture = Array.from({ length: 250 }, (_, n) => scheduledJob(noisy, 'noisy', n, '+010000-01-01T23:58:59.000Z'));
    const oddOffset = Array.from({ length: 100 }, (_, n) => scheduledJob(noisy, 'noisy', 1000 + n, '2028-04-30T23:00:00-05:00'));
    await storeJobs([...farFuture, ...oddOffset]);
    // And thousands of due tokens, expired an hour ago.
    const expired = new Date(clock - 3_600_000).toISOString();
    await storeItems(Array.from({ length: 2000 }, (_, n) => {
      const lookupKey = n.toString(16).padStart(32, '0');
      return {
        ...tokenKeys.token(noisy, lookupKey), entity: 'Token', orgId: noisy, appId: 'noisy', userId: `u${n % 40}`, lookupKey, tokenId: `t${n}`.padEnd(22, 'A'),
        type: 'access', scopes: [], issuedAt: expired, expiresAt: expired, appEpoch: 0, userEpoch: 0, useCount: 0, childCount: 0, dueAt: expired,
        ...tokenKeys.ofUser(noisy, 'noisy', `u${n % 40}`, `t${n}`), ...dueKeys.token(expired, noisy, 'noisy', `u${n % 40}`, lookupKey),
      };
    }));

    await createApp(quiet, 'quiet');
    const raw = rawToken('quiet');
    expect((await register(quiet, { token: raw, type: 'access', appId: 'quiet', userId: 'ada' })).status).toBe(201);
    const runAt = new Date(clock + 60_000).toISOString();
    const scheduled = await call('requestRevocation', { claims: as(quiet), path: { appId: 'quiet' }, json: { userIds: ['ada'], runAt } });
    expect(scheduled.status).toBe(202);

    setClock(Date.parse(runAt) + 1);
    const report = await sweep();
    expect((await call('getRevocationJob', { claims: as(quiet), path: { jobId: scheduled.body.jobId as string } })).body.status).toBe('queued');
    expect((await introspect(quiet, raw)).body).toEqual({ active: false });
    expect(report.jobsStarted).toBe(1);
    // The noisy org's stored entries are put right in its own rounds: the far-future ones fail
    // (they could never run), the others move to their canonical time.
    expect(report.entriesRepaired).toBe(350);
    expect(report.tokensDue).toBe(2000);
    const jobs = async (status: string) => {
      const items = [];
      let cursor: string | undefined;
      do {
        const page = await call('listRevocationJobs', { claims: as(noisy), query: { status, limit: '100', ...(cursor ? { cursor } : {}) } });
        items.push(...(page.body.items ?? []));
        cursor = (page.body.nextCursor as string | null) ?? undefined;
      } while (cursor);
      return items;
    };
    const failed = await jobs('failed');
    expect(failed).toHaveLength(250);
    expect(failed[0]?.error).toMatch(/after the year 9999/);
    expect(failed[0]?.runAt).toBeNull(); // the stored +010000 value has no canonical form: it is shown in the error
    const stillScheduled = await jobs('scheduled');
    expect(stillScheduled).toHaveLength(100);
    expect(new Set(stillScheduled.map((j) => j.runAt))).toEqual(new Set(['2028-05-01T04:00:00.000Z']));
    await drainQueue();
  });

  it('starts a thirteenth org\'s single due job in the first sweep while twelve orgs each have more due jobs than a round takes', { timeout: 120_000 }, async () => {
    const busy = Array.from({ length: 12 }, (_, n) => `org-busy-${String(n).padStart(2, '0')}`);
    const last = 'org-zz-last'; // after every busy org by id, where a shared window would have run out
    const runAt = new Date(clock + 60_000).toISOString();
    for (const orgId of busy) {
      await createApp(orgId, 'app');
      await storeJobs(Array.from({ length: 51 }, (_, n) => scheduledJob(orgId, 'app', n, new Date(Date.parse(runAt) - 1000 - n).toISOString())));
    }
    await createApp(last, 'app');
    const raw = rawToken('last');
    expect((await register(last, { token: raw, type: 'access', appId: 'app', userId: 'ada' })).status).toBe(201);
    const scheduled = await call('requestRevocation', { claims: as(last), path: { appId: 'app' }, json: { userIds: ['ada'], runAt } });
    expect(scheduled.status).toBe(202);

    setClock(Date.parse(runAt) + 1);
    const { handler } = await import('../../functions/jobs/sweep.js');
    expect((await handler({}, lambdaContext('sweep'))).orgsDue).toBeGreaterThanOrEqual(13);
    const report = await runSweepRounds();
    expect((await call('getRevocationJob', { claims: as(last), path: { jobId: scheduled.body.jobId as string } })).body.status).toBe('queued');
    expect((await introspect(last, raw)).body).toEqual({ active: false });
    expect(report.jobsStarted).toBe(12 * 51 + 1); // and every busy org's too, in rounds of its own
    await drainQueue();
    expect((await call('getRevocationJob', { claims: as(last), path: { jobId: scheduled.body.jobId as string } })).body.status).toBe('succeeded');
  });

  it('hands out at most a page of each of an org\'s due partitions a round, the rest in one chain of token rounds, and every other org\'s due tokens in the same sweep', { timeout: 120_000 }, async () => {
    const hog = 'org-hog';
    const other = 'org-other';
    await createApp(hog, 'hog');
    await createApp(other, 'other');
    const expired = new Date(clock - 60_000).toISOString();
    const dueToken = (orgId: string, appId: string, n: number, lookupKey: string) => ({
      ...tokenKeys.token(orgId, lookupKey), entity: 'Token', orgId, appId, userId: `u${n % 10}`, lookupKey, tokenId: `t${n}`.padEnd(22, 'A'),
      type: 'access', scopes: [], issuedAt: expired, expiresAt: expired, appEpoch: 0, userEpoch: 0, useCount: 0, childCount: 0, dueAt: expired,
      ...tokenKeys.ofUser(orgId, appId, `u${n % 10}`, `t${n}`), ...dueKeys.token(expired, orgId, appId, `u${n % 10}`, lookupKey),
    });
    // 1,200 due tokens in one of the hog's partitions (their keys start alike), 5 of the other org's.
    await storeItems(Array.from({ length: 1200 }, (_, n) => dueToken(hog, 'hog', n, `00${n.toString(16).padStart(30, '0')}`)));
    await storeItems(Array.from({ length: 5 }, (_, n) => dueToken(other, 'other', n, `ff${n.toString(16).padStart(30, '0')}`)));

    const { handler } = await import('../../functions/jobs/sweep.js');
    await handler({}, lambdaContext('sweep'));
    expect((await runSweepRounds({ once: true })).tokensDue).toBe(1000 + 5); // a page of the hog's, all the other's
    // While its chain of token rounds holds the hog's tokens, another round of the sweep's leaves them to it…
    const { sweepOrg } = await import('../../shared/domain/sweep.js');
    expect((await sweepOrg({ kind: 'sweep-org', orgId: hog, buckets: [] }, Date.now())).tokensDue).toBe(0);
    // …and so does a round of any other chain (one that lost the lease, delivered late): one chain at a time.
    expect((await sweepOrg({ kind: 'sweep-org', orgId: hog, buckets: [], tokensChain: 'another-chain' }, Date.now())).tokensDue).toBe(0);
    // …whose next round hands out the rest, from where the first stopped, and lets them go.
    expect((await runSweepRounds()).tokensDue).toBe(200);
    expect((await getDueCursors(hog)).tokenChain).toBeUndefined();
    await drainQueue();
  });

  it('deletes an org\'s due markers once their buckets have ended with nothing due left, and finds the org again when it has new due work', { timeout: 60_000 }, async () => {
    const orgId = 'org-markers';
    await createApp(orgId, 'app');
    const expiresAt = new Date(clock + 2 * 60_000).toISOString();
    expect((await register(orgId, { token: rawToken('m'), type: 'access', appId: 'app', userId: 'ada', expiresAt })).status).toBe(201);
    setClock(Date.parse(expiresAt) + 60_000);
    expect((await orgsWithDueWork('~')).has(orgId)).toBe(true);
    await sweep();
    await drainQueue(); // the token is purged
    setClock(clock + 20 * 60_000); // its bucket ended, and the grace after it
    const report = await sweep();
    expect(report.markersDeleted).toBeGreaterThanOrEqual(1);
    expect((await orgsWithDueWork('~')).has(orgId)).toBe(false);
    // New due work marks the org again.
    expect((await register(orgId, { token: rawToken('m2'), type: 'access', appId: 'app', userId: 'ada', expiresAt: new Date(clock + 60_000).toISOString() })).status).toBe(201);
    expect((await orgsWithDueWork('~')).has(orgId)).toBe(true);
  });
});
