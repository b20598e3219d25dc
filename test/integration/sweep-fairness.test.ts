import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/event.js';
import { dueKeys } from '../../shared/db/due-index.js';
import { tokenKeys } from '../../shared/db/token.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { scheduledJob, storeItems, storeJobs } from '../support/jobs.js';

/**
 * One tenant cannot hold back another: an org that filled the shared due index (hundreds of
 * scheduled jobs stored with far-future and odd-offset times before times were bounded, thousands
 * of due tokens) does not delay another org's due job by more than one sweep.
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
    const { handler } = await import('../../functions/jobs/sweep.js');
    const report = await handler({}, lambdaContext('sweep'));
    expect(report.jobsStarted).toBe(1);
    expect((await call('getRevocationJob', { claims: as(quiet), path: { jobId: scheduled.body.jobId as string } })).body.status).toBe('queued');
    expect((await introspect(quiet, raw)).body).toEqual({ active: false });
    // The noisy org's stored entries are put right, at most its share per sweep.
    expect(report.entriesRepaired).toBe(50);

    // Sweep by sweep, every one is repaired: the far-future ones fail (they could never run), the others move to their canonical time.
    for (let sweep = 0; sweep < 8; sweep++) await handler({}, lambdaContext('sweep'));
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
  });
});
