import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/event.js';
import { db, TableName } from '../../shared/db/client.js';
import { dueKeys, queryDue } from '../../shared/db/due-index.js';
import { TOKEN_INDEX_SHARDS } from '../../shared/db/table.js';
import { STALL_AFTER_MS } from '../../shared/domain/revocations.js';
import { SWEEP_PASS_MS, type RoundReport } from '../../shared/domain/sweep.js';
import { enqueue } from '../../shared/queue.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue, dropQueue, peekQueue, pollQueueOnce, runSweepRounds } from '../support/queue.js';

const org = 'org-sweep';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The controllable clock: only `Date` is faked (timers, and so backoff and polling, stay real).
 * The handlers, the worker and the sweep all read it. It only moves forward, as the due index of
 * this file's table does; each test starts on a fresh day.
 */
let clock = Date.parse('2027-03-01T00:00:00.000Z');
const setClock = (at: number) => {
  if (at < clock) throw new Error('the test clock only moves forward');
  clock = at;
  vi.setSystemTime(at);
  return at;
};
const nextDay = () => setClock((Math.floor(clock / DAY) + 1) * DAY);
const iso = (at: number) => new Date(at).toISOString();

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(clock);
});
afterAll(() => {
  vi.useRealTimers();
});

/** One sweep: the scheduled function, then the rounds it sent to the sweep queue (their work stays on the work queue). What the rounds did. */
async function sweep(): Promise<RoundReport> {
  const { handler } = await import('../../functions/jobs/sweep.js');
  await handler({}, lambdaContext('sweep'));
  return runSweepRounds();
}
async function sweepAndDrain(): Promise<RoundReport> {
  const report = await sweep();
  await drainQueue();
  return report;
}

const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return { userCount: body.userCount, activeTokenCount: body.activeTokenCount };
};
const tombstoneItems = async (appId: string): Promise<Record<string, unknown>[]> =>
  (await db.send(new ScanCommand({
    TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e',
    ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'TokenTombstone' },
  }))).Items ?? [];
const isActive = async (raw: string) => (await introspect(org, raw)).body.active === true;
const tokenItems = async (appId: string): Promise<Record<string, unknown>[]> =>
  (await db.send(new ScanCommand({
    TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e',
    ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'Token' },
  }))).Items ?? [];
const listedTokens = async (appId: string, userId: string) =>
  ((await call('listUserTokens', { claims: as(org), path: { appId, userId } })).body.items ?? []).map((t) => t.tokenId);
const events = async (appId: string, action: string) =>
  ((await call('listAuditEvents', { claims: as(org), query: { appId } })).body.items ?? []).filter((e) => e.action === action);
const job = async (jobId: string) => (await call('getRevocationJob', { claims: as(org), path: { jobId } })).body;

async function registered(body: Record<string, unknown>) {
  const reply = await register(org, body);
  expect(reply.status).toBe(201);
  return reply.body;
}

describe('expiry', () => {
  it('purges tokens past expiresAt at the sweep after their expiry, with exact counts', async () => {
    const t0 = nextDay();
    await createApp(org, 'expiry');
    const [a, b, c] = [rawToken('a'), rawToken('b'), rawToken('c')];
    await registered({ token: a, type: 'access', appId: 'expiry', userId: 'ada', expiresAt: iso(t0 + HOUR) });
    await registered({ token: b, type: 'access', appId: 'expiry', userId: 'bob', expiresAt: iso(t0 + 2 * HOUR) });
    await registered({ token: c, type: 'access', appId: 'expiry', userId: 'ada' });
    expect(await counts('expiry')).toEqual({ userCount: 2, activeTokenCount: 3 });

    setClock(t0 + HOUR - 1);
    expect(await isActive(a)).toBe(true);
    await sweepAndDrain();
    expect(await tokenItems('expiry')).toHaveLength(3);

    setClock(t0 + HOUR);
    expect(await isActive(a)).toBe(false);
    await sweepAndDrain();
    expect(await counts('expiry')).toEqual({ userCount: 2, activeTokenCount: 2 });
    expect(await tokenItems('expiry')).toHaveLength(2);

    setClock(t0 + 2 * HOUR);
    await sweepAndDrain();
    expect(await counts('expiry')).toEqual({ userCount: 1, activeTokenCount: 1 });
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'expiry' } })).body.items ?? [];
    expect(users.map((u) => u.userId)).toEqual(['ada']);
    expect(await events('expiry', 'policy.enforced')).toEqual([]); // expiry is not a policy
  });

  it('caps an access token at accessTokenLifetimeMinutes and purges it at the cap', async () => {
    const t0 = nextDay();
    await createApp(org, 'lifetime', { policies: { accessTokenLifetimeMinutes: 15 } });
    const body = await registered({ token: rawToken(), type: 'access', appId: 'lifetime', userId: 'ada', expiresAt: iso(t0 + DAY) });
    expect(body.expiresAt).toBe(iso(t0 + 15 * MINUTE));
    setClock(t0 + 15 * MINUTE);
    await sweepAndDrain();
    expect(await tokenItems('lifetime')).toEqual([]);
    expect(await counts('lifetime')).toEqual({ userCount: 0, activeTokenCount: 0 });
  });

  it('keeps a revoked refresh token\'s tombstone; a day later checks its access tokens once more and lets it expire with the token', async () => {
    const t0 = nextDay();
    await createApp(org, 'tombstone');
    const refresh = rawToken('r');
    const expiresAt = iso(t0 + 30 * DAY);
    const parent = await registered({ token: refresh, type: 'refresh', appId: 'tombstone', userId: 'ada', expiresAt });
    const child = rawToken('a');
    await registered({ token: child, type: 'access', appId: 'tombstone', userId: 'ada', refreshTokenId: parent.tokenId });
    expect((await call('revoke', { claims: as(org), form: { token: refresh } })).status).toBe(200);
    // The cleanup of its access token is lost: the child stays as an item, dead and uncounted.
    expect(await dropQueue()).toBe(1);
    expect(await isActive(child)).toBe(false);
    expect(await counts('tombstone')).toEqual({ userCount: 0, activeTokenCount: 0 });
    const [tombstone] = await tombstoneItems('tombstone');
    expect(tombstone).toMatchObject({ revokedAt: iso(t0), type: 'refresh' });
    expect(tombstone).not.toHaveProperty('ttl'); // kept until its children were checked

    setClock(t0 + DAY - 1);
    await sweepAndDrain();
    expect(await tokenItems('tombstone')).toHaveLength(1);
    setClock(t0 + DAY);
    await sweepAndDrain();
    expect(await tokenItems('tombstone')).toEqual([]);
    const after = await tombstoneItems('tombstone');
    expect(after).toHaveLength(2);
    expect(after.find((t) => t.type === 'refresh')).toMatchObject({ ttl: Date.parse(expiresAt) / 1000 });
    expect(after.find((t) => t.type === 'refresh')).not.toHaveProperty('gsi4pk');
    expect(await counts('tombstone')).toEqual({ userCount: 0, activeTokenCount: 0 });
    for (const [token, type] of [[refresh, 'refresh'], [child, 'access']] as const) {
      const again = await register(org, { token, type, appId: 'tombstone', userId: 'ada' });
      expect(again.status).toBe(409);
      expect(again.body.type).toMatch(/token-revoked$/);
    }
  });
});

describe('refresh-token policies', () => {
  it('expire-immediately: registered (201) but already expired, and purged by the next sweep', async () => {
    const t0 = nextDay();
    await createApp(org, 'immediately', { policies: { refreshTokenPolicy: { mode: 'expire-immediately' } } });
    const refresh = rawToken('r');
    const body = await registered({ token: refresh, type: 'refresh', appId: 'immediately', userId: 'ada' });
    expect(body.expiresAt).toBe(iso(t0));
    expect(await isActive(refresh)).toBe(false);

    await sweepAndDrain();
    expect(await tokenItems('immediately')).toEqual([]);
    expect(await counts('immediately')).toEqual({ userCount: 0, activeTokenCount: 0 });
    const [event] = await events('immediately', 'policy.enforced');
    expect(event).toMatchObject({ actor: { sub: 'sweep', kind: 'system' }, appId: 'immediately', details: { refreshTokensDeleted: 1 } });
  });

  it('expire-after: active until the last millisecond, purged at the boundary', async () => {
    const t0 = nextDay();
    await createApp(org, 'after', { policies: { refreshTokenPolicy: { mode: 'expire-after', value: 2, unit: 'hours' } } });
    const refresh = rawToken('r');
    await registered({ token: refresh, type: 'refresh', appId: 'after', userId: 'ada' });

    setClock(t0 + 2 * HOUR - 1);
    expect(await isActive(refresh)).toBe(true);
    await sweepAndDrain();
    expect(await counts('after')).toEqual({ userCount: 1, activeTokenCount: 1 });

    setClock(t0 + 2 * HOUR);
    expect(await isActive(refresh)).toBe(false);
    await sweepAndDrain();
    expect(await tokenItems('after')).toEqual([]);
    expect(await counts('after')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect(await events('after', 'policy.enforced')).toHaveLength(1);
  });

  it('expire-if-unused: every use moves the expiry; the sweep purges only after last use + N', async () => {
    const t0 = nextDay();
    await createApp(org, 'unused', { policies: { refreshTokenPolicy: { mode: 'expire-if-unused', value: 30, unit: 'minutes' } } });
    const refresh = rawToken('r');
    const { tokenId } = await registered({ token: refresh, type: 'refresh', appId: 'unused', userId: 'ada' });

    setClock(t0 + 20 * MINUTE);
    expect(await isActive(refresh)).toBe(true); // a use: now unused-until t0 + 50 min
    setClock(t0 + 30 * MINUTE);
    await sweepAndDrain(); // looks at it when it was first due, finds it used, moves it
    setClock(t0 + 50 * MINUTE - 1);
    await sweepAndDrain();
    expect(await listedTokens('unused', 'ada')).toEqual([tokenId]);
    expect(await counts('unused')).toEqual({ userCount: 1, activeTokenCount: 1 });

    setClock(t0 + 50 * MINUTE);
    expect(await listedTokens('unused', 'ada')).toEqual([]);
    await sweepAndDrain();
    expect(await tokenItems('unused')).toEqual([]);
    expect(await counts('unused')).toEqual({ userCount: 0, activeTokenCount: 0 });
  });

  it('a policy change applies to existing tokens: its pass purges what it rules out and reschedules the rest', async () => {
    const t0 = nextDay();
    await createApp(org, 'tightened');
    const [old, young, access] = [rawToken('old'), rawToken('young'), rawToken('access')];
    await registered({ token: old, type: 'refresh', appId: 'tightened', userId: 'ada' });
    await registered({ token: access, type: 'access', appId: 'tightened', userId: 'ada' });
    setClock(t0 + 3 * HOUR);
    await registered({ token: young, type: 'refresh', appId: 'tightened', userId: 'bob' });
    expect(await counts('tightened')).toEqual({ userCount: 2, activeTokenCount: 3 });

    setClock(t0 + 3 * HOUR + 30 * MINUTE);
    const reply = await call('replacePolicies', { claims: as(org), path: { appId: 'tightened' }, json: { refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' } } });
    expect(reply.status).toBe(200);
    expect(await isActive(old)).toBe(false); // at once, before any purge
    await drainQueue(); // the policy pass
    expect(await counts('tightened')).toEqual({ userCount: 2, activeTokenCount: 2 });
    const [event] = await events('tightened', 'policy.enforced');
    expect(event?.details).toMatchObject({ refreshTokensDeleted: 1, refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' } });

    setClock(t0 + 4 * HOUR);
    await sweepAndDrain(); // the young token was moved to its new due time by the pass
    expect(await counts('tightened')).toEqual({ userCount: 1, activeTokenCount: 1 });
    expect((await tokenItems('tightened')).map((t) => t.type)).toEqual(['access']);
  });
});

describe('scheduled revocations', () => {
  it('revoke nothing before runAt; the first sweep after it revokes at once, then the queue cleans up', async () => {
    const t0 = nextDay();
    await createApp(org, 'scheduled');
    const early = [rawToken('e1'), rawToken('e2'), rawToken('e3')];
    for (const [i, token] of early.entries()) await registered({ token, type: 'access', appId: 'scheduled', userId: `u${i % 2}` });
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'scheduled' }, json: { all: true, runAt: iso(t0 + HOUR) } });
    expect(reply.body.status).toBe('scheduled');
    const jobId = reply.body.jobId as string;

    setClock(t0 + HOUR - 1);
    const late = rawToken('late'); // registered after the request but before runAt: in the target
    await registered({ token: late, type: 'access', appId: 'scheduled', userId: 'u2' });
    await sweepAndDrain();
    expect((await job(jobId)).status).toBe('scheduled');
    expect(await isActive(early[0] as string)).toBe(true);

    setClock(t0 + HOUR);
    const report = await sweep();
    expect(report.jobsStarted).toBe(1);
    // Before the worker has run: revoked and uncounted.
    expect(await Promise.all([...early, late].map(isActive))).toEqual([false, false, false, false]);
    expect(await counts('scheduled')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect((await job(jobId)).status).toBe('queued');

    await drainQueue();
    expect(await job(jobId)).toMatchObject({ status: 'succeeded', progress: { usersDone: 3, tokensRevoked: 4 } });
    expect(await tokenItems('scheduled')).toEqual([]);
    const after = rawToken('after');
    await registered({ token: after, type: 'access', appId: 'scheduled', userId: 'u0' });
    expect(await isActive(after)).toBe(true);
  });

  it('starts at runAt while its app has 25 cleanups in progress: its target inactive at once, its cleanup held until a slot frees, then exact', { timeout: 60_000 }, async () => {
    const t0 = nextDay();
    await createApp(org, 'busy');
    const targets = [rawToken(), rawToken()];
    const jobIds: string[] = [];
    for (const [n, token] of targets.entries()) {
      await registered({ token, type: 'access', appId: 'busy', userId: `target-${n}` });
      jobIds.push((await call('requestRevocation', { claims: as(org), path: { appId: 'busy' }, json: { userIds: [`target-${n}`], runAt: iso(t0 + HOUR) } })).body.jobId as string);
    }
    // 24 cleanups in progress on the app (one short of the most it runs at once): their plans lost, so they stay unfinished.
    for (let n = 0; n < 24; n++) {
      await registered({ token: rawToken(), type: 'access', appId: 'busy', userId: `busy-${n}` });
      expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'busy', userId: `busy-${n}` } })).status).toBe(202);
    }
    expect(await dropQueue()).toBe(24);

    setClock(t0 + HOUR);
    expect((await sweep()).jobsStarted).toBe(2);
    expect(await Promise.all(targets.map(isActive))).toEqual([false, false]);
    // The first takes the last slot; the second waits for one. The others' cleanups resume (their work was lost).
    const plans = (await peekQueue()).filter((m) => m.kind === 'plan').map((m) => m.jobId);
    expect(plans).toHaveLength(25);
    const [sent, held] = plans.includes(jobIds[0]) ? jobIds as [string, string] : [jobIds[1] as string, jobIds[0] as string];
    expect(plans).toContain(sent);
    expect(plans).not.toContain(held);
    await drainQueue();
    expect(await job(sent)).toMatchObject({ status: 'succeeded' });
    expect(await job(held)).toMatchObject({ status: 'queued', startedAt: null });

    setClock(t0 + HOUR + 2 * MINUTE);
    expect((await sweepAndDrain()).jobsReleased).toBe(1);
    expect(await job(held)).toMatchObject({ status: 'succeeded', progress: { usersDone: 1, tokensRevoked: 1 } });
    expect(await counts('busy')).toEqual({ userCount: 0, activeTokenCount: 0 });
  });

  it('never run once cancelled', async () => {
    const t0 = nextDay();
    await createApp(org, 'cancelled');
    const token = rawToken();
    await registered({ token, type: 'access', appId: 'cancelled', userId: 'ada' });
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'cancelled' }, json: { userIds: ['ada'], runAt: iso(t0 + HOUR) } });
    const jobId = reply.body.jobId as string;
    expect((await call('cancelRevocationJob', { claims: as(org), path: { jobId } })).status).toBe(200);

    setClock(t0 + 2 * HOUR);
    expect((await sweepAndDrain()).jobsStarted).toBe(0);
    expect((await job(jobId)).status).toBe('cancelled');
    expect(await isActive(token)).toBe(true);
    expect(await counts('cancelled')).toEqual({ userCount: 1, activeTokenCount: 1 });
  });

  it('overlapping sweeps start a due job once and hand each due token out once', async () => {
    const t0 = nextDay();
    await createApp(org, 'overlap');
    for (let i = 0; i < 12; i++) await registered({ token: rawToken(), type: 'access', appId: 'overlap', userId: `u${i % 4}`, expiresAt: iso(t0 + 10 * MINUTE) });
    await createApp(org, 'overlap-job');
    await registered({ token: rawToken(), type: 'access', appId: 'overlap-job', userId: 'ada' });
    const jobId = (await call('requestRevocation', { claims: as(org), path: { appId: 'overlap-job' }, json: { all: true, runAt: iso(t0 + 20 * MINUTE) } })).body.jobId as string;

    setClock(t0 + 30 * MINUTE);
    const dueBy = dueKeys.dueBy(iso(clock));
    let due = 0;
    for (const partition of dueKeys.tokenPartitions(org)) due += (await queryDue(partition, dueBy, 1000)).entries.length;
    expect(due).toBeGreaterThanOrEqual(12);

    const reports = await Promise.all([sweep(), sweep(), sweep()]);
    expect(reports.reduce((sum, r) => sum + r.jobsStarted, 0)).toBe(1);
    expect(reports.reduce((sum, r) => sum + r.tokensDue, 0)).toBe(due);
    await drainQueue();
    expect(await counts('overlap')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect(await tokenItems('overlap')).toEqual([]);
    expect((await job(jobId)).status).toBe('succeeded');
    expect(await events('overlap-job', 'revocation.completed')).toHaveLength(1);
  });
});

describe('recovery', () => {
  it('resumes a job whose messages were lost, from its stored state, and ends exact', { timeout: 60_000 }, async () => {
    const t0 = nextDay();
    await createApp(org, 'lost');
    const tokens = Array.from({ length: 250 }, (_, i) => ({ token: rawToken(), type: 'access', appId: 'lost', userId: `user-${String(i).padStart(3, '0')}` }));
    for (let i = 0; i < tokens.length; i += 25) await Promise.all(tokens.slice(i, i + 25).map(registered));
    const jobId = (await call('requestRevocation', { claims: as(org), path: { appId: 'lost' }, json: { all: true } })).body.jobId as string;
    await pollQueueOnce(); // plans: a step per range of the app's token list (one per shard for so few)…
    expect(await dropQueue()).toBe(TOKEN_INDEX_SHARDS); // …which are lost
    // What the revocation took, from the counters it zeroed.
    expect(await job(jobId)).toMatchObject({ status: 'running', progress: { usersDone: 250, tokensRevoked: 250 } });

    setClock(t0 + STALL_AFTER_MS - 1);
    expect((await sweepAndDrain()).jobsResumed).toBe(0); // not stalled yet
    setClock(t0 + STALL_AFTER_MS);
    expect((await sweep()).jobsResumed).toBe(1);
    await drainQueue();
    expect(await job(jobId)).toMatchObject({ status: 'succeeded', progress: { usersDone: 250, tokensRevoked: 250 } });
    expect(await tokenItems('lost')).toEqual([]);
    expect(await counts('lost')).toEqual({ userCount: 0, activeTokenCount: 0 });

    // A message of the lost pass that turns up late changes nothing.
    const before = await job(jobId);
    await enqueue([{ kind: 'clean', orgId: org, jobId, pass: 0, batch: 0, userIds: ['user-000'] }]);
    await drainQueue();
    expect(await job(jobId)).toEqual(before);
  });

  it('resumes a job whose plan message was lost before anything ran', async () => {
    const t0 = nextDay();
    await createApp(org, 'unplanned');
    const token = rawToken();
    await registered({ token, type: 'access', appId: 'unplanned', userId: 'ada' });
    const jobId = (await call('revokeUserTokens', { claims: as(org), path: { appId: 'unplanned', userId: 'ada' } })).body.jobId as string;
    expect(await dropQueue()).toBe(1);
    expect(await isActive(token)).toBe(false);

    setClock(t0 + STALL_AFTER_MS);
    expect((await sweepAndDrain()).jobsResumed).toBe(1);
    expect(await job(jobId)).toMatchObject({ status: 'succeeded', progress: { usersDone: 1, tokensRevoked: 1 } });
    expect(await tokenItems('unplanned')).toEqual([]);
  });

  it('marks a job failed after five passes without progress; its tokens stay revoked', async () => {
    const t0 = nextDay();
    await createApp(org, 'hopeless');
    const token = rawToken();
    await registered({ token, type: 'access', appId: 'hopeless', userId: 'ada' });
    const jobId = (await call('revokeUserTokens', { claims: as(org), path: { appId: 'hopeless', userId: 'ada' } })).body.jobId as string;
    for (let pass = 1; pass <= 4; pass++) {
      expect(await dropQueue()).toBe(1); // the plan of this pass is lost too
      setClock(t0 + pass * STALL_AFTER_MS);
      expect((await sweep()).jobsResumed).toBe(1);
    }
    expect(await dropQueue()).toBe(1);
    setClock(t0 + 5 * STALL_AFTER_MS);
    expect((await sweep()).jobsFailed).toBe(1);
    expect(await job(jobId)).toMatchObject({ status: 'failed', finishedAt: iso(clock) });
    expect((await job(jobId)).error).toEqual(expect.stringContaining('no progress'));
    expect(await isActive(token)).toBe(false);
    expect(await counts('hopeless')).toEqual({ userCount: 0, activeTokenCount: 0 });
  });

  it('hands out again, in the next pass, due tokens whose messages were lost', async () => {
    const t0 = nextDay();
    await createApp(org, 'lost-due');
    await registered({ token: rawToken(), type: 'access', appId: 'lost-due', userId: 'ada', expiresAt: iso(t0 + MINUTE) });
    setClock(t0 + 2 * MINUTE);
    expect((await sweep()).tokensDue).toBeGreaterThanOrEqual(1);
    expect(await dropQueue()).toBeGreaterThanOrEqual(1);
    setClock(t0 + 3 * MINUTE);
    await sweepAndDrain(); // the same pass: already handed out, not again
    expect(await tokenItems('lost-due')).toHaveLength(1);
    setClock(t0 + 2 * MINUTE + SWEEP_PASS_MS);
    await sweepAndDrain(); // a new pass starts from the oldest due entry
    expect(await tokenItems('lost-due')).toEqual([]);
    expect(await counts('lost-due')).toEqual({ userCount: 0, activeTokenCount: 0 });
  });
});
