import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import pMap from 'p-map';
import { describe, expect, it } from 'vitest';
import { getUsersOfApp, setCount } from '../../shared/db/app-user.js';
import { db, TableName } from '../../shared/db/client.js';
import { commit } from '../../shared/db/unit-of-work.js';
import type { AppUser } from '../../shared/model.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

/** DELETE /v1/users/{userId}/personal-data (contract section 5): the user's name blanked everywhere. */
const org = 'org-erasure';
const admin = as(org);

/** Every item the org has, as stored (a Scan: only a test may). */
const everything = async () => {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName, ConsistentRead: true, ExclusiveStartKey }));
    items.push(...(page.Items ?? []).filter((item) => JSON.stringify(item).includes(org)));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
};
const holding = async (text: string) => (await everything()).filter((item) => JSON.stringify(item).toLowerCase().includes(text.toLowerCase()));
const erase = (userId: string, key?: string) => call('erasePersonalData', { claims: admin, path: { userId }, headers: key ? { 'idempotency-key': key } : {} });

describe('DELETE /v1/users/{userId}/personal-data', () => {
  it('blanks the user\'s name in every app (held tokens or not), in the searches and the introspection answer; ids, counts and others stay; audited at the end', { timeout: 60_000 }, async () => {
    // More apps than a step reads: the name of the last one's row is found by a later step.
    const apps = Array.from({ length: 105 }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    await pMap(apps, (appId) => createApp(org, appId), { concurrency: 8 });
    const token = rawToken('ada');
    expect((await register(org, { token, type: 'access', appId: 'app-104', userId: 'ada', userName: 'Ada Lovelace' })).status).toBe(201);
    const refresh = rawToken('ada-refresh');
    expect((await register(org, { token: refresh, type: 'refresh', appId: 'app-000', userId: 'ada', userName: 'Ada Lovelace' })).status).toBe(201);
    expect((await register(org, { token: rawToken('gone'), type: 'access', appId: 'app-050', userId: 'ada', userName: 'Ada L.' })).status).toBe(201);
    expect((await register(org, { token: rawToken('bob'), type: 'access', appId: 'app-104', userId: 'bob', userName: 'Bob Builder' })).status).toBe(201);
    // Her row in app-050 holds no token any more, and still her name.
    expect((await call('revokeUserTokens', { claims: admin, path: { appId: 'app-050', userId: 'ada' } })).status).toBe(202);
    await drainQueue();
    expect((await introspect(org, token)).body).toMatchObject({ active: true, username: 'Ada Lovelace' });
    expect((await holding('Ada L')).length).toBeGreaterThanOrEqual(5); // three rows, two links

    const reply = await erase('ada', 'erase-ada-1');
    expect(reply.status, reply.text).toBe(202);
    expect(reply.body).toMatchObject({ kind: 'personal-data-erasure', appId: null, target: { userId: 'ada' }, status: 'queued' });
    expect(reply.headers.location).toBe(`/v1/revocation-jobs/${reply.body.jobId as string}`);
    // A retry answers the same job; the key with another user is refused.
    expect((await erase('ada', 'erase-ada-1')).body.jobId).toBe(reply.body.jobId);
    expect((await erase('bob', 'erase-ada-1')).status).toBe(422);

    await drainQueue();
    const job = (await call('getRevocationJob', { claims: admin, path: { jobId: reply.body.jobId as string } })).body;
    expect(job).toMatchObject({ status: 'succeeded', progress: { appsDone: 3, tokensRevoked: 0 } });

    // Nothing the org holds keeps her name (search keys are lowercase); Bob's stays.
    expect(await holding('Ada L')).toEqual([]);
    expect((await holding('Bob Builder')).length).toBeGreaterThan(0);
    // Ids and counts stay, and her token still works, without a name.
    expect((await introspect(org, token)).body).toEqual(expect.not.objectContaining({ username: expect.anything() }));
    expect((await introspect(org, token)).body.active).toBe(true);
    const users = (await call('listAppUsers', { claims: admin, path: { appId: 'app-104' } })).body.items;
    expect(users).toEqual([expect.objectContaining({ userId: 'ada', userName: null, activeTokenCount: 1 }), expect.objectContaining({ userId: 'bob', userName: 'Bob Builder' })]);
    expect((await call('listUsers', { claims: admin, query: { q: 'ada l' } })).body.items).toEqual([]);
    expect((await call('listUsers', { claims: admin, query: { q: 'ada' } })).body.items).toEqual([expect.objectContaining({ userId: 'ada', userName: null, appCount: 2, activeTokenCount: 2 })]);
    expect((await call('listAppUsers', { claims: admin, path: { appId: 'app-104' }, query: { q: 'ada lo' } })).body.items).toEqual([]);

    const events = (await call('listAuditEvents', { claims: admin, query: { userId: 'ada' } })).body.items ?? [];
    expect(events[0]).toMatchObject({ action: 'user.personal-data.erased', userId: 'ada', jobId: reply.body.jobId, actor: { kind: 'system' }, details: { requestedBy: admin.sub, rowsErased: 3 } });
    expect(events.filter((e) => e.action === 'user.personal-data.erased')).toHaveLength(1);
  });

  it('is not undone by a write that read the name before it: such a write fails and reads again', { timeout: 60_000 }, async () => {
    await createApp(org, 'racing');
    expect((await register(org, { token: rawToken('cy'), type: 'access', appId: 'racing', userId: 'cy', userName: 'Cy Racer' })).status).toBe(201);
    // A repair (reconcile) that read the row, with its name, before the erasure ran.
    const { shard, users } = await getUsersOfApp(org, 'racing', ['cy']);
    const seen = users.get('cy') as AppUser;
    expect(seen.userName).toBe('Cy Racer');
    expect((await erase('cy')).status).toBe(202);
    await drainQueue();
    expect(await commit(setCount(seen, shard?.revokeEpoch ?? 0, 1))).toBe(false);
    expect(await holding('Cy Racer')).toEqual([]);
  });

  it('succeeds for a user the service holds nothing of, and is listed with the org\'s jobs', async () => {
    const reply = await erase('nobody');
    expect(reply.status).toBe(202);
    await drainQueue();
    expect((await call('getRevocationJob', { claims: admin, path: { jobId: reply.body.jobId as string } })).body).toMatchObject({ status: 'succeeded', progress: { appsDone: 0, tokensRevoked: 0 } });
    const jobs = (await call('listRevocationJobs', { claims: admin })).body.items ?? [];
    expect(jobs[0]).toMatchObject({ jobId: reply.body.jobId, kind: 'personal-data-erasure' });
  });

  it('answers 400 naming the parameter for a bad user id, and 403 without apps:manage', async () => {
    const bad = await call('erasePersonalData', { claims: admin, path: { userId: 'a b' } });
    expect([bad.status, (bad.body.errors as { path: string }[]).map((e) => e.path)]).toEqual([400, ['path.userId']]);
    expect((await call('erasePersonalData', { claims: as(org, { scope: 'usage:read' }), path: { userId: 'ada' } })).status).toBe(403);
  });
});
