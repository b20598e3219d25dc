import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';

// Small steps, so that a few dozen users already make a job of many messages (read at import).
vi.hoisted(() => {
  process.env.JOB_STEP_USERS = '3';
  process.env.JOB_STEP_TOKENS = '4';
  process.env.JOB_STALL_SECONDS = '5';
});

const { db, dynamo, TableName } = await import('../../shared/db/client.js');
const { STALL_AFTER_MS } = await import('../../shared/domain/revocations.js');
const { as, call, createApp, introspect, rawToken, register } = await import('../support/api.js');
const { drainQueue, duplicateQueue, peekQueue, pollQueueOnce } = await import('../support/queue.js');
const { captureLogLines } = await import('../support/logs.js');
const { getJob } = await import('../../shared/db/job.js');
const { TOKEN_INDEX_SHARDS } = await import('../../shared/db/table.js');
const { settleUserTokens } = await import('../../shared/domain/settlement.js');
const { lambdaContext } = await import('../../local/event.js');
const { tokenRangeBounds, tokenRanges } = await import('../../shared/db/token.js');
const { createJobWrite } = await import('../../shared/db/job.js');
const { getOrgUser, offboardWrite } = await import('../../shared/db/org-user.js');
const { commit } = await import('../../shared/db/unit-of-work.js');
const { newOrgWideJob, sendPlan, stallCheckAt } = await import('../../shared/domain/revocations.js');
const { iso } = await import('../../shared/time.js');

const org = 'org-steps';
let requests = 0;
let items = 0;
/** Items a request read or wrote: what a Query or Scan returned, the keys or writes a batch named, the members of a transaction. */
const itemsOf = (input: Record<string, unknown>, output: Record<string, unknown>) =>
  (Array.isArray(output.Items) ? output.Items.length : 0) + (Array.isArray(input.TransactItems) ? input.TransactItems.length : 0)
  + Object.values((input.RequestItems ?? {}) as Record<string, unknown[] | { Keys: unknown[] }>).reduce((n, r) => n + (Array.isArray(r) ? r.length : r.Keys.length), 0);
dynamo.middlewareStack.add((next) => async (args) => {
  requests++;
  const result = await next(args);
  items += itemsOf(args.input as Record<string, unknown>, result.output as unknown as Record<string, unknown>);
  return result;
}, { step: 'initialize', name: 'countRequests' });

/** Runs the queue one message at a time; the most DynamoDB requests and items one message made, and how many messages ran. */
async function drainOneByOne(): Promise<{ messages: number; maxRequests: number; maxItems: number }> {
  let messages = 0;
  let maxRequests = 0;
  let maxItems = 0;
  for (;;) {
    requests = 0;
    items = 0;
    if ((await pollQueueOnce(1)) === 0) return { messages, maxRequests, maxItems };
    messages++;
    maxRequests = Math.max(maxRequests, requests);
    maxItems = Math.max(maxItems, items);
  }
}

/** An app where `heavy` holds `held` tokens, and `light` and `kept` two each. */
async function appWithHeavyUser(appId: string, held: number): Promise<string[]> {
  await createApp(org, appId);
  const raws: string[] = [];
  for (const [userId, count] of [['heavy', held], ['light', 2], ['kept', 2]] as const) {
    for (let t = 0; t < count; t++) {
      const token = rawToken(appId);
      expect((await register(org, { token, type: 'access', appId, userId })).status).toBe(201);
      raws.push(token);
    }
  }
  return raws;
}

async function appWithUsers(appId: string, users: number): Promise<string[]> {
  await createApp(org, appId);
  const raws: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let t = 0; t < 2; t++) {
      const token = rawToken(appId);
      expect((await register(org, { token, type: 'access', appId, userId: `user-${u}` })).status).toBe(201);
      raws.push(token);
    }
  }
  return raws;
}

const leftTokens = async (appId: string) => ((await db.send(new ScanCommand({
  TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'Token' },
}))).Items ?? []).length;
/** The users the app is linked to among their apps (the user's-apps list), whatever the epoch. */
/** `userId` holding one token in each of `apps` new apps (named `prefix-0`, …); `kept` one in the first too. */
async function userInApps(prefix: string, userId: string, apps: number): Promise<{ appIds: string[]; raws: string[]; kept: string }> {
  const appIds = Array.from({ length: apps }, (_, a) => `${prefix}-${a}`);
  const raws: string[] = [];
  for (const appId of appIds) {
    await createApp(org, appId);
    const token = rawToken(appId);
    expect((await register(org, { token, type: 'access', appId, userId })).status).toBe(201);
    raws.push(token);
  }
  const kept = rawToken(prefix);
  expect((await register(org, { token: kept, type: 'access', appId: appIds[0], userId: 'kept' })).status).toBe(201);
  return { appIds, raws, kept };
}

/** What an offboarding's call commits first (the watermark and the job) when it dies right after: its plan steps raise every app. */
async function offboardingWhoseCallDied(userId: string): Promise<string> {
  const now = Date.now();
  const seen = await getOrgUser(org, userId);
  const job = newOrgWideJob({ orgId: org, sub: 'admin' }, userId, null, now, { offboarding: { userId, offboardEpoch: seen.offboardEpoch + 1, raiseCursor: '', raisedApps: 0, appsRaised: false, at: iso(now) } });
  expect(await commit([offboardWrite(seen, iso(now), { block: false }), createJobWrite(job, stallCheckAt(now))])).toBe(true);
  await sendPlan(job);
  return job.jobId;
}

const appCounts = async (appIds: string[]) => Promise.all(appIds.map(async (appId) => {
  const { userCount, activeTokenCount } = (await call('getApp', { claims: as(org), path: { appId } })).body;
  return [userCount, activeTokenCount];
}));

const links = async (appId: string) => ((await db.send(new ScanCommand({
  TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'UserAppLink' },
}))).Items ?? []).map((link) => link.userId as string);

describe('every step of a job does bounded work', () => {
  it('reads JOB_STEP_USERS and JOB_STALL_SECONDS', () => {
    expect(STALL_AFTER_MS).toBe(5000);
  });

  it('an app-wide job of 5× the users runs in more messages, none of them larger', { timeout: 60_000 }, async () => {
    const runs = [];
    for (const [appId, users] of [['small', 6], ['large', 30]] as const) {
      const raws = await appWithUsers(appId, users);
      const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true } });
      expect(reply.status).toBe(202);
      const run = await drainOneByOne();
      const job = (await call('getRevocationJob', { claims: as(org), path: { jobId: reply.body.jobId as string } })).body;
      expect(job).toMatchObject({ status: 'succeeded', progress: { usersDone: users, tokensRevoked: 2 * users } });
      expect(await leftTokens(appId)).toBe(0);
      expect((await introspect(org, raws[0] as string)).body).toEqual({ active: false });
      runs.push(run);
    }
    const [small, large] = runs as [Awaited<ReturnType<typeof drainOneByOne>>, Awaited<ReturnType<typeof drainOneByOne>>];
    expect(large.messages).toBeGreaterThanOrEqual(10); // 30 users in steps of 3
    expect(large.messages).toBeGreaterThan(small.messages);
    // The step that finishes a job also carries its own page's BatchWriteItem, or none when its range was empty.
    expect(large.maxRequests).toBeLessThanOrEqual(small.maxRequests + 1);
  });

  it('a Bulk Revoke runs in steps of JOB_STEP_USERS users', { timeout: 60_000 }, async () => {
    await appWithUsers('bulk', 10);
    const userIds = Array.from({ length: 10 }, (_, u) => `user-${u}`);
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'bulk' }, json: { userIds } });
    const run = await drainOneByOne();
    expect(run.messages).toBe(1 + 4); // the plan, then ⌈10 / 3⌉ cleanup steps
    const job = (await call('getRevocationJob', { claims: as(org), path: { jobId: reply.body.jobId as string } })).body;
    expect(job).toMatchObject({ status: 'succeeded', progress: { usersDone: 10, tokensRevoked: 20 } });
  });

  it('a Bulk Revoke of a user holding 20× a step\'s tokens goes on in parts: no message reads or writes more items than for a user of 5×, and the job ends exact', { timeout: 60_000 }, async () => {
    const runs = [];
    for (const [appId, held] of [['heavy-small', 20], ['heavy-large', 80]] as const) {
      const raws = await appWithHeavyUser(appId, held);
      const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: { userIds: ['heavy', 'light'] } });
      expect(reply.status).toBe(202);
      const run = await drainOneByOne();
      expect(await getJob(org, reply.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 2, tokensRevoked: held + 2 }, reconciled: { userDrift: 0, stragglers: 0 } });
      expect(await leftTokens(appId)).toBe(2);
      expect((await call('getApp', { claims: as(org), path: { appId } })).body).toMatchObject({ userCount: 1, activeTokenCount: 2 });
      expect((await introspect(org, raws[held - 1] as string)).body).toEqual({ active: false });
      runs.push(run);
    }
    const [small, large] = runs as [Awaited<ReturnType<typeof drainOneByOne>>, Awaited<ReturnType<typeof drainOneByOne>>];
    expect(large.messages).toBeGreaterThanOrEqual(small.messages + 10); // about one more part per step's worth of tokens
    expect(large.maxItems).toBeLessThanOrEqual(small.maxItems);
    expect(large.maxRequests).toBeLessThanOrEqual(small.maxRequests);
  });

  it('the parts of a Bulk Revoke run in one chain when every message is delivered twice, and its counts stay exact while the user registers new tokens', { timeout: 60_000 }, async () => {
    const raws = await appWithHeavyUser('heavy-twice', 30);
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'heavy-twice' }, json: { userIds: ['heavy', 'light'] } });
    expect(reply.status).toBe(202);
    let registered = 0;
    for (let round = 0; round < 100 && (await duplicateQueue()) > 0; round++) {
      await pollQueueOnce(10);
      // A token registered between parts (after the call: untouched by it) moves the user's row while its tokens are counted.
      if (round % 3 === 1) {
        expect((await register(org, { token: rawToken('heavy-twice'), type: 'access', appId: 'heavy-twice', userId: 'heavy' })).status).toBe(201);
        registered++;
      }
    }
    expect(await peekQueue()).toEqual([]);
    expect(await getJob(org, reply.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 2, tokensRevoked: 32 }, reconciled: { userDrift: 0 } });
    expect(await leftTokens('heavy-twice')).toBe(2 + registered);
    expect((await call('getApp', { claims: as(org), path: { appId: 'heavy-twice' } })).body).toMatchObject({ userCount: 2, activeTokenCount: 2 + registered });
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'heavy-twice' } })).body.items as { userId: string; activeTokenCount: number }[];
    expect(users.map((u) => [u.userId, u.activeTokenCount])).toEqual([['heavy', registered], ['kept', 2]]);
    expect((await introspect(org, raws[0] as string)).body).toEqual({ active: false });
  });

  it('a policy pass over a user holding 20× a step\'s refresh tokens goes on in messages of bounded work, and removes every one', { timeout: 60_000 }, async () => {
    const runs = [];
    for (const [appId, held] of [['policy-small', 5], ['policy-large', 80]] as const) {
      await createApp(org, appId);
      for (let t = 0; t < held; t++) expect((await register(org, { token: rawToken(appId), type: 'refresh', appId, userId: 'heavy' })).status).toBe(201);
      expect((await register(org, { token: rawToken(appId), type: 'refresh', appId, userId: 'light' })).status).toBe(201);
      await drainOneByOne();
      const reply = await call('replacePolicies', { claims: as(org), path: { appId }, json: { refreshTokenPolicy: { mode: 'expire-immediately' } } });
      expect(reply.status).toBe(200);
      const run = await drainOneByOne();
      expect(await leftTokens(appId)).toBe(0);
      expect((await call('getApp', { claims: as(org), path: { appId } })).body).toMatchObject({ userCount: 0, activeTokenCount: 0 });
      runs.push(run);
    }
    const [small, large] = runs as [Awaited<ReturnType<typeof drainOneByOne>>, Awaited<ReturnType<typeof drainOneByOne>>];
    expect(large.messages).toBeGreaterThanOrEqual(small.messages + 10);
    expect(large.maxItems).toBeLessThanOrEqual(small.maxItems);
  });

  it('an app-wide job takes every user out of the user\'s apps, also when a step ends inside a user\'s tokens', { timeout: 60_000 }, async () => {
    await createApp(org, 'straddle');
    for (let u = 0; u < 20; u++) {
      for (let t = 0; t < 3; t++) expect((await register(org, { token: rawToken('straddle'), type: 'access', appId: 'straddle', userId: `user-${u}` })).status).toBe(201);
    }
    expect(await links('straddle')).toHaveLength(20);
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'straddle' }, json: { all: true } });
    const run = await drainOneByOne();
    expect(run.messages).toBeGreaterThan(1 + 8); // steps of 4 tokens, users of 3: most ranges take more than one step
    expect(await getJob(org, reply.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 20, tokensRevoked: 60 } });
    expect(await leftTokens('straddle')).toBe(0);
    expect(await links('straddle')).toEqual([]);
  });

  it("an app-wide job leaves no user among the user's apps whose tokens another job took away first", { timeout: 60_000 }, async () => {
    const appId = 'taken-first';
    await createApp(org, appId);
    expect((await register(org, { token: rawToken(appId), type: 'access', appId, userId: 'u' })).status).toBe(201);
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId, userId: 'u' } })).status).toBe(202);
    expect((await register(org, { token: rawToken(appId), type: 'access', appId, userId: 'u' })).status).toBe(201);
    const all = await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true } });
    expect(all.status).toBe(202);

    // In queue order: the user's job runs first and its check tombstones the token the app-wide revocation killed.
    await drainOneByOne();

    expect((await getJob(org, all.body.jobId as string))?.status).toBe('succeeded');
    expect(await links(appId), 'still among the user\'s apps').toEqual([]);
  });

  it("an app-wide job leaves no user among the user's apps whose tokens the sweep settled first", { timeout: 60_000 }, async () => {
    const appId = 'settled-first';
    await createApp(org, appId);
    expect((await register(org, { token: rawToken(appId), type: 'access', appId, userId: 'v' })).status).toBe(201);
    const all = await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true } });
    expect(all.status).toBe(202);
    const token = ((await db.send(new ScanCommand({
      TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'Token' },
    }))).Items ?? [])[0];

    // The sweep looks at the token before the job's step reads the app's token list.
    expect(await settleUserTokens(org, appId, 'v', [token?.lookupKey as string], Date.now())).toMatchObject({ revoked: 1 });
    await drainOneByOne();

    expect((await getJob(org, all.body.jobId as string))?.status).toBe('succeeded');
    expect(await links(appId), 'still among the user\'s apps').toEqual([]);
  });

  it('jobs run by overlapping invocations (as Lambda runs several batches at once) end exact', { timeout: 60_000 }, async () => {
    const raws = [...await appWithUsers('overlap-all', 24), ...await appWithUsers('overlap-bulk', 12)];
    const all = await call('requestRevocation', { claims: as(org), path: { appId: 'overlap-all' }, json: { all: true } });
    const bulk = await call('requestRevocation', { claims: as(org), path: { appId: 'overlap-bulk' }, json: { userIds: Array.from({ length: 9 }, (_, u) => `user-${u}`) } });
    expect(await drainQueue({ invocations: 3 })).toBeGreaterThan(10);
    expect(await getJob(org, all.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 24, tokensRevoked: 48 }, reconciled: { stragglers: 0, userDrift: 0 } });
    expect(await getJob(org, bulk.body.jobId as string)).toMatchObject({ status: 'succeeded', progress: { usersDone: 9, tokensRevoked: 18 }, reconciled: { stragglers: 0, userDrift: 0 } });
    expect(await leftTokens('overlap-all')).toBe(0);
    expect(await leftTokens('overlap-bulk')).toBe(6); // users 9–11 keep theirs
    const apps = await Promise.all(['overlap-all', 'overlap-bulk'].map(async (appId) => (await call('getApp', { claims: as(org), path: { appId } })).body));
    expect(apps.map((a) => [a.userCount, a.activeTokenCount])).toEqual([[0, 0], [3, 6]]);
    expect((await introspect(org, raws[0] as string)).body).toEqual({ active: false });
  });

  it('a plan message sent twice and handled at once (a retried request, a duplicate delivery) sends the job\'s steps once: one cleanup chain, not two', { timeout: 60_000 }, async () => {
    for (const [appId, target] of [['twice-all', { all: true }], ['twice-bulk', { userIds: Array.from({ length: 9 }, (_, u) => `user-${u}`) }]] as const) {
      await appWithUsers(appId, 12);
      const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: target });
      expect(reply.status).toBe(202);
      expect(await duplicateQueue()).toBe(1); // the plan message, now on the queue twice
      expect(await pollQueueOnce(10)).toBe(2); // both in one batch, handled at once
      const job = await getJob(org, reply.body.jobId as string);
      expect(job?.planComplete).toBe(true);
      // What the two left on the queue: each step once.
      const steps = await peekQueue();
      expect(steps.length, appId).toBe(job?.plannedBatches);
      expect(new Set(steps.map((m) => JSON.stringify([m.batch, m.cursor ?? null]))).size).toBe(steps.length);
      await drainQueue();
      expect((await getJob(org, reply.body.jobId as string))?.status).toBe('succeeded');
    }
  });

  it('an app-wide job tombstones a token its index listed only after the token\'s range was read', { timeout: 60_000 }, async () => {
    const raws = await appWithUsers('late', 20);
    const tokens = ((await db.send(new ScanCommand({
      TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': 'late', ':e': 'Token' },
    }))).Items ?? []) as { pk: string; sk: string; gsi6pk: string; gsi6sk: string }[];
    // The token of the lowest shard and sort key: its range is among the first the queue runs.
    const late = tokens.sort((a, b) => a.gsi6pk.localeCompare(b.gsi6pk) || a.gsi6sk.localeCompare(b.gsi6sk))[0] as (typeof tokens)[number];
    const batchOf = (plannedBatches: number) => tokenRanges(plannedBatches / TOKEN_INDEX_SHARDS).findIndex((range) => {
      const [low, high] = tokenRangeBounds(range);
      return late.gsi6pk.endsWith(`#${range.shard}`) && late.gsi6sk >= low && late.gsi6sk <= high;
    });
    const setIndexKeys = (keys: Pick<typeof late, 'gsi6pk' | 'gsi6sk'> | null) => db.send(new UpdateCommand({
      TableName, Key: { pk: late.pk, sk: late.sk },
      ...(keys ? { UpdateExpression: 'SET gsi6pk = :p, gsi6sk = :s', ExpressionAttributeValues: { ':p': keys.gsi6pk, ':s': keys.gsi6sk } } : { UpdateExpression: 'REMOVE gsi6pk, gsi6sk' }),
    }));
    await setIndexKeys(null); // not in the index yet, as if its entry lagged

    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'late' }, json: { all: true } });
    const jobId = reply.body.jobId as string;
    let restored = false;
    while ((await pollQueueOnce(1)) > 0) {
      const job = await getJob(org, jobId);
      if (!restored && job?.status === 'running' && job.planComplete && job.doneBatches.includes(batchOf(job.plannedBatches))) {
        expect(job.doneBatches.length).toBeLessThan(job.plannedBatches); // the job's last look is still to come
        await setIndexKeys(late); // the entry shows up, after its range was read
        restored = true;
      }
    }
    expect(restored).toBe(true);
    const job = await getJob(org, jobId);
    expect(job).toMatchObject({ status: 'succeeded', progress: { usersDone: 20, tokensRevoked: 40 }, reconciled: { stragglers: 1 } });
    expect(await leftTokens('late')).toBe(0);
    expect((await introspect(org, raws[0] as string)).body).toEqual({ active: false });
  });

  it('drops a range step that names a Bulk Revoke job (no code sends one) instead of failing it again and again', { timeout: 60_000 }, async () => {
    await appWithUsers('mixed', 2);
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'mixed' }, json: { userIds: ['user-0'] } });
    const jobId = reply.body.jobId as string;
    const { handler } = await import('../../functions/worker/queue-worker.js');
    const logs = captureLogLines();
    const step = { kind: 'clean-range', orgId: org, jobId, pass: 0, batch: 0, range: { shard: 0, part: 0, parts: 1 }, cursor: null };
    const response = await handler({ Records: [{ messageId: 'stray', body: JSON.stringify(step) } as never] }, lambdaContext('revocation-worker'));
    logs.stop();
    expect(response.batchItemFailures).toEqual([]);
    expect(logs.lines.map((l) => l.message)).toContain('Dropping a step for a job that does not revoke all tokens');
    await drainOneByOne();
    expect(await getJob(org, jobId)).toMatchObject({ status: 'succeeded', progress: { usersDone: 1, tokensRevoked: 2 } });
  });

  it('an offboarding whose call died, of a user linked to 5× the apps, runs in more messages, none of them larger, and ends exact', { timeout: 60_000 }, async () => {
    const runs = [];
    // 2 and 10 plan steps' worth of apps (a step's apps all idle after it in both)
    for (const [prefix, apps] of [['narrow', 6], ['wide', 30]] as const) {
      const userId = `${prefix}-user`;
      const { appIds, raws, kept } = await userInApps(prefix, userId, apps);
      const jobId = await offboardingWhoseCallDied(userId);
      for (const raw of raws) expect((await introspect(org, raw)).body).toEqual({ active: false }); // the org-wide watermark alone
      const run = await drainOneByOne();
      expect(await getJob(org, jobId)).toMatchObject({ status: 'succeeded', plannedBatches: apps, progress: { usersDone: apps, tokensRevoked: apps } });
      expect(await appCounts(appIds)).toEqual(appIds.map((_, a) => (a === 0 ? [1, 1] : [0, 0])));
      for (const appId of appIds) expect(await leftTokens(appId)).toBe(appId === appIds[0] ? 1 : 0);
      expect((await introspect(org, kept)).body).toMatchObject({ active: true });
      runs.push(run);
    }
    const [narrow, wide] = runs as [Awaited<ReturnType<typeof drainOneByOne>>, Awaited<ReturnType<typeof drainOneByOne>>];
    expect(wide.messages).toBeGreaterThanOrEqual(narrow.messages + 24 + 8); // a step per app, and a plan step per 3 apps
    expect(wide.maxItems).toBeLessThanOrEqual(narrow.maxItems);
    expect(wide.maxRequests).toBeLessThanOrEqual(narrow.maxRequests);
  });

  it('an offboarding of a user in more apps than its call raises answers with the first raised; its plan steps, each delivered twice, raise and clean the rest once, and the job ends exact', { timeout: 90_000 }, async () => {
    const apps = 33; // the call raises 10 plan steps' worth: 30
    const { appIds, raws, kept } = await userInApps('many', 'many-user', apps);
    const reply = await call('offboardUser', { claims: as(org), path: { userId: 'many-user' }, json: {} });
    expect(reply.status).toBe(202);
    for (const raw of raws) expect((await introspect(org, raw)).body).toEqual({ active: false });
    expect((await getJob(org, reply.body.jobId as string))?.offboarding).toMatchObject({ raisedApps: 30, appsRaised: false });
    // Each round, every message on the queue delivered twice, and all of them handled.
    for (let round = 0, waiting = await duplicateQueue(); round < 100 && waiting > 0; round++, waiting = await duplicateQueue()) {
      for (let handled = 0; handled < 2 * waiting;) {
        const got = await pollQueueOnce(10);
        if (got === 0) break;
        handled += got;
      }
    }
    expect(await peekQueue()).toEqual([]);
    const job = await getJob(org, reply.body.jobId as string);
    expect(job).toMatchObject({ status: 'succeeded', plannedBatches: apps, offboarding: { raisedApps: apps, appsRaised: true }, progress: { usersDone: apps, tokensRevoked: apps }, reconciled: { userDrift: 0 } });
    expect(job?.doneBatches).toEqual(appIds.map((_, batch) => batch));
    expect(await appCounts(appIds)).toEqual(appIds.map((_, a) => (a === 0 ? [1, 1] : [0, 0])));
    for (const appId of appIds) expect(await leftTokens(appId)).toBe(appId === appIds[0] ? 1 : 0);
    expect((await introspect(org, kept)).body).toMatchObject({ active: true });
    const listed = (await call('listApps', { claims: as(org), query: { q: 'App many' } })).body.items as { appId: string }[];
    expect(listed.map((a) => a.appId)).toEqual([appIds[0]]);
  });
});
