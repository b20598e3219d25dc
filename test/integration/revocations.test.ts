import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { enqueue } from '../../shared/queue.js';
import { as, call, createApp, introspect, rawToken, register, type Reply } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const org = 'org-revocations';
type Item = Record<string, unknown>;

async function inParallel<T>(values: T[], work: (value: T) => Promise<void>, width = 16) {
  for (let i = 0; i < values.length; i += width) await Promise.all(values.slice(i, i + width).map(work));
}

/** Registers `perUser` access tokens for each of `users` users of the app; returns the raw values by user. */
async function seedTokens(appId: string, users: number, perUser: number) {
  const byUser = new Map<string, string[]>();
  const work = Array.from({ length: users * perUser }, (_, i) => ({ userId: `user-${String(i % users).padStart(4, '0')}`, raw: rawToken(appId) }));
  await inParallel(work, async ({ userId, raw }) => {
    const reply = await register(org, { token: raw, type: 'access', appId, userId });
    expect(reply.status).toBe(201);
    byUser.set(userId, [...(byUser.get(userId) ?? []), raw]);
  });
  return byUser;
}

const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return { userCount: body.userCount, activeTokenCount: body.activeTokenCount };
};
const actives = async (raws: string[]) => {
  const result: boolean[] = [];
  await inParallel(raws, async (raw) => { result.push((await introspect(org, raw)).body.active === true); });
  return result;
};
const tokenItems = async (appId: string) =>
  ((await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'Token' } }))).Items ?? []);
const job = async (jobId: string) => (await call('getRevocationJob', { claims: as(org), path: { jobId } })).body;
const revoke = (appId: string, json: unknown, headers: Record<string, string> = {}) =>
  call('requestRevocation', { claims: as(org, { sub: 'sec@example.com' }), path: { appId }, json, headers });
const errorPaths = (reply: Reply) => (reply.body.errors as { path: string }[]).map((e) => e.path);

describe('revoking every token of an app', () => {
  it('is immediate for thousands of tokens, spares tokens issued after, and ends exact', { timeout: 180_000 }, async () => {
    await createApp(org, 'huge');
    const byUser = await seedTokens('huge', 200, 10);
    const all = [...byUser.values()].flat();
    expect(await counts('huge')).toEqual({ userCount: 200, activeTokenCount: 2000 });

    const reply = await revoke('huge', { all: true, reason: 'incident 42' });
    expect(reply.status).toBe(202);
    expect(reply.headers.location).toBe(`/v1/revocation-jobs/${String(reply.body.jobId)}`);
    expect(reply.body).toMatchObject({ appId: 'huge', target: { all: true }, status: 'queued', requestedBy: 'sec@example.com', reason: 'incident 42', progress: { usersDone: 0, tokensRevoked: 0 } });

    // Before the worker has run: every token is inactive, and the counters already say so.
    expect((await actives(all)).filter(Boolean)).toEqual([]);
    expect(await counts('huge')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect(((await call('listApps', { claims: as(org), query: { q: 'App huge' } })).body.items ?? []).length).toBe(0);

    const after = rawToken('after');
    expect((await register(org, { token: after, type: 'access', appId: 'huge', userId: 'user-0001' })).status).toBe(201);
    expect((await introspect(org, after)).body.active).toBe(true);
    expect(await counts('huge')).toEqual({ userCount: 1, activeTokenCount: 1 });

    await drainQueue();
    const done = await job(reply.body.jobId as string);
    expect(done).toMatchObject({ status: 'succeeded', progress: { usersDone: 200, tokensRevoked: 2000 }, startedAt: expect.any(String), finishedAt: expect.any(String) });
    const left = await tokenItems('huge');
    expect(left.map((t) => String(t.userId))).toEqual(['user-0001']);
    expect((await introspect(org, after)).body.active).toBe(true);
    expect(await counts('huge')).toEqual({ userCount: 1, activeTokenCount: 1 });
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'huge' } })).body.items ?? [];
    expect(users.map((u) => [u.userId, u.activeTokenCount])).toEqual([['user-0001', 1]]);

    const events = (await call('listAuditEvents', { claims: as(org), query: { appId: 'huge' } })).body.items ?? [];
    expect(events.slice(0, 2).map((e) => [e.action, (e.actor as Item).kind])).toEqual([['revocation.completed', 'system'], ['revocation.requested', 'user']]);
    expect(events[1]).toMatchObject({ jobId: reply.body.jobId, reason: 'incident 42', actor: { sub: 'sec@example.com' } });
  });
});

describe('Bulk Revoke and a user’s Revoke', () => {
  it('revokes exactly the selected users at once and cleans up their tokens', async () => {
    await createApp(org, 'bulk');
    const byUser = await seedTokens('bulk', 5, 3);
    const chosen = ['user-0000', 'user-0002', 'user-0004'];
    const reply = await revoke('bulk', { userIds: [...chosen, 'never-seen'] });
    expect(reply.status).toBe(202);
    expect(reply.body.target).toEqual({ userIds: [...chosen, 'never-seen'] });
    for (const [userId, raws] of byUser) {
      expect(await actives(raws), userId).toEqual(raws.map(() => !chosen.includes(userId)));
    }
    expect(await counts('bulk')).toEqual({ userCount: 2, activeTokenCount: 6 });
    await drainQueue();
    // The user never seen is revoked too (a row holding only the watermark: a learned token issued before it stays revoked).
    expect(await job(reply.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 4, tokensRevoked: 9 } });
    expect((await tokenItems('bulk')).map((t) => String(t.userId)).sort()).toEqual(['user-0001', 'user-0001', 'user-0001', 'user-0003', 'user-0003', 'user-0003']);
    expect(await counts('bulk')).toEqual({ userCount: 2, activeTokenCount: 6 });
  });

  it('DELETE …/users/{userId}/tokens revokes one user (202 job) and the app leaves the list when it was the last', async () => {
    await createApp(org, 'solo');
    const byUser = await seedTokens('solo', 1, 4);
    const reply = await call('revokeUserTokens', { claims: as(org), path: { appId: 'solo', userId: 'user-0000' } });
    expect(reply.status).toBe(202);
    expect(reply.headers.location).toMatch(/^\/v1\/revocation-jobs\/job_/);
    expect((await actives(byUser.get('user-0000') ?? [])).filter(Boolean)).toEqual([]);
    expect(await counts('solo')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect((await call('listApps', { claims: as(org), query: { q: 'App solo' } })).body.items).toEqual([]);
    await drainQueue();
    expect((await job(reply.body.jobId as string)).status).toBe('succeeded');
    expect(await tokenItems('solo')).toEqual([]);
  });

  it('a redelivered cleanup message changes nothing', async () => {
    await createApp(org, 'redeliver');
    await seedTokens('redeliver', 2, 2);
    const reply = await revoke('redeliver', { all: true });
    await drainQueue();
    const before = await job(reply.body.jobId as string);
    await enqueue([{ kind: 'clean', orgId: org, jobId: reply.body.jobId as string, pass: 0, batch: 0, userIds: ['user-0000', 'user-0001'] }]);
    await enqueue([{ kind: 'plan', orgId: org, jobId: reply.body.jobId as string, pass: 0 }]);
    await drainQueue();
    expect(await job(reply.body.jobId as string)).toEqual(before);
  });
});

describe('dry runs, idempotency keys, schedules and cancellation', () => {
  it('dryRun answers the numbers and changes nothing', async () => {
    await createApp(org, 'preview');
    const byUser = await seedTokens('preview', 3, 2);
    expect((await revoke('preview', { all: true, dryRun: true })).body).toEqual({ usersAffected: 3, tokensAffected: 6 });
    const some = await revoke('preview', { userIds: ['user-0001', 'nobody'], dryRun: true });
    expect(some.status).toBe(200);
    expect(some.body).toEqual({ usersAffected: 1, tokensAffected: 2 });
    expect((await actives([...byUser.values()].flat())).every(Boolean)).toBe(true);
    expect(await counts('preview')).toEqual({ userCount: 3, activeTokenCount: 6 });
  });

  it('the same Idempotency-Key gives the same job; reused for another request it is a 422', async () => {
    await createApp(org, 'idem');
    await seedTokens('idem', 2, 1);
    const first = await revoke('idem', { userIds: ['user-0000'] }, { 'idempotency-key': 'retry-123' });
    const again = await revoke('idem', { userIds: ['user-0000'] }, { 'idempotency-key': 'retry-123' });
    expect(again.status).toBe(202);
    expect(again.body.jobId).toBe(first.body.jobId);
    const jobs = (await call('listRevocationJobs', { claims: as(org), query: { appId: 'idem' } })).body.items ?? [];
    expect(jobs.length).toBe(1);
    const other = await revoke('idem', { userIds: ['user-0001'] }, { 'idempotency-key': 'retry-123' });
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused$/);
    await drainQueue();
  });

  it('an Idempotency-Key is the caller\'s own and one route\'s, and lasts a day even while DynamoDB\'s TTL has not deleted it', async () => {
    await createApp(org, 'idem-scope');
    await seedTokens('idem-scope', 2, 1);
    const body = { userIds: ['user-0000'] };
    const byAda = await revoke('idem-scope', body, { 'idempotency-key': 'shared-key' });
    // Another admin, the same key and body: a job of their own, not a 422 revealing the first admin's use.
    const byBob = await call('requestRevocation', { claims: as(org, { sub: 'bob@org' }), path: { appId: 'idem-scope' }, json: body, headers: { 'idempotency-key': 'shared-key' } });
    expect(byBob.status).toBe(202);
    expect(byBob.body.jobId).not.toBe(byAda.body.jobId);
    // The same admin and key on another route: another request too.
    const user = await call('revokeUserTokens', { claims: as(org), path: { appId: 'idem-scope', userId: 'user-0000' }, headers: { 'idempotency-key': 'shared-key' } });
    expect(user.status).toBe(202);
    expect(user.body.jobId).not.toBe(byAda.body.jobId);
    // A day later the key is free again, though the item is still there (TTL deletes late).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 86_400_000 + 60_000 });
    try {
      const later = await revoke('idem-scope', { userIds: ['user-0001'] }, { 'idempotency-key': 'shared-key' });
      expect(later.status, later.text).toBe(202);
      expect(later.body.jobId).not.toBe(byAda.body.jobId);
    } finally {
      vi.useRealTimers();
    }
    await drainQueue();
  });

  it('Revoke of one user honours an Idempotency-Key too: a double click makes one job', async () => {
    await createApp(org, 'idem-user');
    await seedTokens('idem-user', 2, 1);
    const revokeUser = () => call('revokeUserTokens', { claims: as(org), path: { appId: 'idem-user', userId: 'user-0000' }, headers: { 'idempotency-key': 'click-1' } });
    const [first, second] = await Promise.all([revokeUser(), revokeUser()]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body.jobId).toBe(first.body.jobId);
    const jobs = (await call('listRevocationJobs', { claims: as(org), query: { appId: 'idem-user' } })).body.items ?? [];
    expect(jobs.length).toBe(1);
    await drainQueue();
  });

  it('a job with runAt is scheduled and revokes nothing yet; it can be cancelled (200, idempotent) until it starts', async () => {
    await createApp(org, 'later');
    const byUser = await seedTokens('later', 2, 1);
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await revoke('later', { all: true, runAt });
    expect(scheduled.status).toBe(202);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', runAt });
    expect((await actives([...byUser.values()].flat())).every(Boolean)).toBe(true);
    const jobId = scheduled.body.jobId as string;
    const cancel = await call('cancelRevocationJob', { claims: as(org), path: { jobId } });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: 'cancelled', finishedAt: expect.any(String) });
    expect((await call('cancelRevocationJob', { claims: as(org), path: { jobId } })).status).toBe(200);
    const cancelled = (await call('listAuditEvents', { claims: as(org), query: { appId: 'later' } })).body.items ?? [];
    expect(cancelled[0]).toMatchObject({ action: 'revocation.cancelled', jobId });

    const immediate = await revoke('later', { all: true });
    await drainQueue();
    const late = await call('cancelRevocationJob', { claims: as(org), path: { jobId: immediate.body.jobId as string } });
    expect(late.status).toBe(409);
    expect((await revoke('later', { all: true, runAt: '2001-01-01T00:00:00Z' })).status).toBe(400);
  });

  it('lists jobs newest first, by app and by status', async () => {
    const list = (query: Record<string, string>) => call('listRevocationJobs', { claims: as(org), query }).then((r) => (r.body.items ?? []).map((j) => [j.appId, j.status]));
    expect(await list({ appId: 'later' })).toEqual([['later', 'succeeded'], ['later', 'cancelled']]);
    expect(await list({ appId: 'later', status: 'cancelled' })).toEqual([['later', 'cancelled']]);
    expect((await list({ status: 'cancelled' })).every(([, s]) => s === 'cancelled')).toBe(true);
  });
});

describe('refusals', () => {
  it('answers 400 naming the field for bad requests', async () => {
    await createApp(org, 'strict-jobs');
    const cases: [unknown, string][] = [
      [{}, 'body.userIds'],
      [{ all: true, userIds: ['a'] }, 'body.userIds'],
      [{ all: false }, 'body.all'],
      [{ userIds: [] }, 'body.userIds'],
      [{ userIds: ['a', 'a'] }, 'body.userIds'],
      [{ userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, 'body.userIds'],
      [{ userIds: ['bad id'] }, 'body.userIds.0'],
      [{ all: true, runAt: 'soon' }, 'body.runAt'],
      [{ all: true, dryRun: 'yes' }, 'body.dryRun'],
      [{ all: true, extra: 1 }, 'body.extra'],
    ];
    for (const [json, path] of cases) {
      const reply = await revoke('strict-jobs', json);
      expect(reply.status, JSON.stringify(json).slice(0, 80)).toBe(400);
      expect(errorPaths(reply)).toContain(path);
    }
    expect(errorPaths(await revoke('strict-jobs', { all: true }, { 'idempotency-key': 'has space' }))).toEqual(['headers.idempotency-key']);
    expect(errorPaths(await call('getRevocationJob', { claims: as(org), path: { jobId: 'job-1' } }))).toEqual(['path.jobId']);
    expect(errorPaths(await call('listRevocationJobs', { claims: as(org), query: { status: 'done' } }))).toEqual(['query.status']);
  });

  it('keeps orgs apart (404) and needs apps:manage to revoke', async () => {
    await createApp(org, 'mine');
    const reply = await revoke('mine', { all: true });
    await drainQueue();
    const other = as('org-revocations-other');
    expect((await call('requestRevocation', { claims: other, path: { appId: 'mine' }, json: { all: true } })).status).toBe(404);
    expect((await call('revokeUserTokens', { claims: other, path: { appId: 'mine', userId: 'u' } })).status).toBe(404);
    expect((await call('getRevocationJob', { claims: other, path: { jobId: reply.body.jobId as string } })).status).toBe(404);
    expect((await call('cancelRevocationJob', { claims: other, path: { jobId: reply.body.jobId as string } })).status).toBe(404);
    expect((await call('listRevocationJobs', { claims: other })).body.items).toEqual([]);
    expect((await call('requestRevocation', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'mine' }, json: { all: true } })).status).toBe(403);
    expect((await call('cancelRevocationJob', { claims: as(org, { scope: 'usage:read' }), path: { jobId: reply.body.jobId as string } })).status).toBe(403);
  });
});
