import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import pMap from 'p-map';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { hasher } from '../../shared/domain/hasher.js';
import { resumeUnfinishedJobs } from '../../shared/domain/sweep.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { captureLogLines } from '../support/logs.js';
import { drainQueue, dropQueue } from '../support/queue.js';

/**
 * "Revoked means revoked — at once, exactly, and for good", driven the way an attacker or a
 * flaky network would: retried registrations, children of dead parents, other spellings of an id,
 * interleavings forced by injecting the conflicts that contention produces, restarts.
 */
const org = 'org-final';

const items = async (entity: string, appId: string) =>
  (await db.send(new ScanCommand({
    TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e',
    ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': entity },
  }))).Items ?? [];
const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return [body.userCount, body.activeTokenCount];
};
const isActive = async (raw: string) => (await introspect(org, raw)).body.active === true;
async function registered(body: Record<string, unknown>): Promise<string> {
  const reply = await register(org, body);
  expect(reply.status, reply.text).toBe(201);
  return reply.body.tokenId as string;
}
const expectRevoked = async (body: Record<string, unknown>) => {
  const again = await register(org, body);
  expect(again.status, again.text).toBe(409);
  expect(again.body.type).toMatch(/token-revoked$/);
  expect(await isActive(body.token as string)).toBe(false);
};

/** Middlewares added to the real DynamoDB client by one test (inside the SDK's and our retries), removed after it. */
const injections: string[] = [];
const injected = (name: string) => {
  injections.push(name);
  return { step: 'finalizeRequest', name, priority: 'low' } as const;
};
afterEach(() => {
  for (const name of injections.splice(0)) dynamo.middlewareStack.remove(name);
  vi.restoreAllMocks();
});

/** Every base64url spelling of the same 16 bytes (the last character's low 4 bits are unused). */
const aliasesOf = (tokenId: string) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(tokenId.slice(-1));
  return Array.from({ length: 16 }, (_, bits) => `${tokenId.slice(0, -1)}${alphabet[(last & ~15) | bits]}`).filter((id) => id !== tokenId);
};

describe('a revoked token never comes back through a retried registration', () => {
  it('after DELETE of one token, after RFC 7009, after a user job and after an app-wide job', async () => {
    await createApp(org, 'retry');
    const body = (userId: string, extra: Record<string, unknown> = {}) => ({ token: rawToken('retry'), type: 'access', appId: 'retry', userId, ...extra });
    const byDelete = body('ada', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const byRfc7009 = body('ada');
    const byUserJob = body('bob');
    const byAppJob = body('cy');
    const deleteId = await registered(byDelete);
    for (const b of [byRfc7009, byUserJob, byAppJob]) await registered(b);

    expect((await call('revokeToken', { claims: as(org), path: { appId: 'retry', userId: 'ada', tokenId: deleteId } })).status).toBe(204);
    expect((await call('revoke', { claims: as(org), form: { token: byRfc7009.token } })).status).toBe(200);
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'retry', userId: 'bob' } })).status).toBe(202);
    await drainQueue();
    await expectRevoked(byDelete);
    await expectRevoked(byRfc7009);
    await expectRevoked(byUserJob);

    expect((await call('requestRevocation', { claims: as(org), path: { appId: 'retry' }, json: { all: true } })).status).toBe(202);
    await drainQueue();
    await expectRevoked(byAppJob);
    expect(await items('Token', 'retry')).toEqual([]);
    expect(await counts('retry')).toEqual([0, 0]);

    // What is remembered: a small tombstone per token, expiring (DynamoDB TTL) with the token but
    // no sooner than a day after the revocation, or never without an expiry.
    const tombstones = await items('TokenTombstone', 'retry');
    expect(tombstones).toHaveLength(4);
    for (const t of tombstones) {
      expect(Object.keys(t).sort()).toEqual(expect.arrayContaining(['pk', 'sk', 'entity', 'appId', 'userId', 'lookupKey', 'revokedAt']));
      expect(t).not.toHaveProperty('scopes');
      expect(t).not.toHaveProperty('gsi1pk');
    }
    const withExpiry = tombstones.find((t) => t.tokenId === deleteId);
    expect(withExpiry?.ttl).toBe(Math.ceil((Date.parse(String(withExpiry?.revokedAt)) + 86_400_000) / 1000));
    expect(tombstones.filter((t) => t.ttl === undefined)).toHaveLength(3);
  });
});

describe('how long a revoked token is remembered', () => {
  it('as long as the caller\'s own expiry (not the app\'s lifetime cap: registered again, a capped token would get a new window), and a day at least', async () => {
    await createApp(org, 'capped', { policies: { accessTokenLifetimeMinutes: 5 } });
    const uncapped = { token: rawToken('cap'), type: 'access', appId: 'capped', userId: 'ada' };
    const stated = { ...uncapped, token: rawToken('cap'), expiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString() };
    const soon = { ...uncapped, token: rawToken('cap'), expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    for (const body of [uncapped, stated, soon]) {
      await registered(body);
      expect((await call('revoke', { claims: as(org), form: { token: body.token } })).status).toBe(200);
    }
    const tombstones = await items('TokenTombstone', 'capped');
    const ttlOf = (raw: string) => tombstones.find((t) => t.tokenId === hasher.digest(raw).tokenId)?.ttl as number | undefined;
    // Capped at 5 minutes, but the caller named no expiry: a retry after 5 minutes must still be refused.
    expect(ttlOf(uncapped.token)).toBeUndefined();
    expect(ttlOf(stated.token)).toBe(Math.ceil(Date.parse(stated.expiresAt) / 1000));
    // An expiry within the day: kept a day after the revocation all the same (an outbox may retry that long).
    const revokedAt = Date.parse(String(tombstones.find((t) => t.tokenId === hasher.digest(soon.token).tokenId)?.revokedAt));
    expect(ttlOf(soon.token)).toBe(Math.ceil((revokedAt + 86_400_000) / 1000));
    for (const body of [uncapped, stated, soon]) await expectRevoked(body);
  });
});

describe('a refresh token that is dead cannot parent an access token', () => {
  it('answers 409 parent-token-inactive naming body.refreshTokenId after a user or app revocation, before any cleanup', async () => {
    await createApp(org, 'orphans');
    const userParent = await registered({ token: rawToken('r'), type: 'refresh', appId: 'orphans', userId: 'ada' });
    const appParent = await registered({ token: rawToken('r'), type: 'refresh', appId: 'orphans', userId: 'bob' });
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'orphans', userId: 'ada' } })).status).toBe(202);
    const child = { token: rawToken('a'), type: 'access', appId: 'orphans', userId: 'ada', refreshTokenId: userParent };
    const refused = await register(org, child);
    expect([refused.status, refused.body.type]).toEqual([409, 'urn:oauth-usage:problem:parent-token-inactive']);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'body.refreshTokenId' })]);
    expect(await isActive(child.token)).toBe(false);

    expect((await call('requestRevocation', { claims: as(org), path: { appId: 'orphans' }, json: { all: true } })).status).toBe(202);
    const appChild = await register(org, { token: rawToken('a'), type: 'access', appId: 'orphans', userId: 'bob', refreshTokenId: appParent });
    expect(appChild.status).toBe(409);
    expect(await counts('orphans')).toEqual([0, 0]);
  });
});

describe('a token id has one spelling', () => {
  it('refuses aliases: 404 on DELETE, 409 parent-token-inactive as refreshTokenId; the audit log names the canonical id', async () => {
    await createApp(org, 'aliases');
    const refresh = rawToken('r');
    const refreshId = await registered({ token: refresh, type: 'refresh', appId: 'aliases', userId: 'ada' });
    const aliases = aliasesOf(refreshId);
    expect(aliases).toHaveLength(15);
    for (const alias of aliases.slice(0, 5)) {
      const child = await register(org, { token: rawToken('a'), type: 'access', appId: 'aliases', userId: 'ada', refreshTokenId: alias });
      expect([child.status, child.body.type]).toEqual([409, 'urn:oauth-usage:problem:parent-token-inactive']);
      expect(child.body.errors).toEqual([expect.objectContaining({ path: 'body.refreshTokenId' })]);
      expect((await call('revokeToken', { claims: as(org), path: { appId: 'aliases', userId: 'ada', tokenId: alias } })).status).toBe(404);
    }
    expect(await isActive(refresh)).toBe(true);
    expect((await call('revokeToken', { claims: as(org), path: { appId: 'aliases', userId: 'ada', tokenId: refreshId } })).status).toBe(204);
    const events = (await call('listAuditEvents', { claims: as(org), query: { appId: 'aliases' } })).body.items ?? [];
    expect(events.filter((e) => e.action === 'token.revoked').map((e) => e.tokenId)).toEqual([refreshId]);
  });

  it('answers 400, not 500, for an access token that names itself as its refresh token', async () => {
    await createApp(org, 'selfish');
    const raw = rawToken('self');
    const id = await registered({ token: raw, type: 'access', appId: 'selfish', userId: 'ada' });
    const again = await register(org, { token: raw, type: 'access', appId: 'selfish', userId: 'ada', refreshTokenId: id });
    expect(again.status, again.text).toBe(400);
    expect(await isActive(raw)).toBe(true);
    const fresh = rawToken('self');
    const freshId = (await import('../../shared/crypto.js')).createTokenHasher((await import('../../shared/crypto.js')).singleKey(Buffer.from(process.env.TOKEN_HASH_SECRET as string, 'base64'))).digest(fresh).tokenId;
    const reply = await register(org, { token: fresh, type: 'access', appId: 'selfish', userId: 'ada', refreshTokenId: freshId });
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.errors).toEqual([expect.objectContaining({ path: 'body.refreshTokenId' })]);
  });
});

describe('lists apply the watermarks exactly as the counts do', () => {
  it('after {"all":true} Usage by User and a user\'s apps are empty at once, and show the user again on a new token', async () => {
    await createApp(org, 'listed');
    for (const userId of ['lisa', 'lars', 'lou']) await registered({ token: rawToken('l'), type: 'access', appId: 'listed', userId });
    expect((await call('requestRevocation', { claims: as(org), path: { appId: 'listed' }, json: { all: true } })).status).toBe(202);
    // No cleanup has run: the rows are still listed in the index, but hold nothing under the app's epoch.
    for (const sort of ['userId', '-lastUsedAt']) {
      expect((await call('listAppUsers', { claims: as(org), path: { appId: 'listed' }, query: { sort } })).body.items).toEqual([]);
    }
    expect((await call('listUserApps', { claims: as(org), path: { userId: 'lisa' } })).body.items).toEqual([]);
    expect(await counts('listed')).toEqual([0, 0]);

    await registered({ token: rawToken('l'), type: 'access', appId: 'listed', userId: 'lars' });
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'listed' } })).body.items ?? [];
    expect(users.map((u) => [u.userId, u.activeTokenCount])).toEqual([['lars', 1]]);
    expect(((await call('listUserApps', { claims: as(org), path: { userId: 'lars' } })).body.items ?? []).map((a) => [a.appId, a.activeTokenCount])).toEqual([['listed', 1]]);
  });
});

describe('Bulk Revoke of more users than one transaction holds', () => {
  it('a 202 means every user is revoked, on the retry path too; tokens registered after it survive the cleanup', { timeout: 60_000 }, async () => {
    await createApp(org, 'bulk');
    const userIds = Array.from({ length: 150 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    const raws = await pMap(userIds, async (userId) => {
      const token = rawToken('bulk');
      await registered({ token, type: 'access', appId: 'bulk', userId });
      return token;
    }, { concurrency: 8 });

    // Contention on the users past the first transaction: every attempt to raise them finds a row changed.
    let refused = 0;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { TransactItems?: { Put?: unknown; Update?: { Key?: unknown } }[] };
      const raisesUsersOnly = context.commandName === 'TransactWriteItemsCommand'
        && input.TransactItems?.every((i) => !i.Put) && input.TransactItems.some((i) => JSON.stringify(i.Update?.Key ?? '').includes('USER#'));
      if (raisesUsersOnly) {
        refused++;
        throw Object.assign(new Error('Transaction cancelled'), {
          name: 'TransactionCanceledException', $fault: 'client', $metadata: { httpStatusCode: 400 },
          CancellationReasons: input.TransactItems?.map((_, i) => ({ Code: i === 0 ? 'ConditionalCheckFailed' : 'None' })),
        });
      }
      return next(args);
    }, injected('contendLaterUsers'));
    const request = { claims: as(org), path: { appId: 'bulk' }, json: { userIds }, headers: { 'idempotency-key': 'bulk-150' } };
    const failed = await call('requestRevocation', request);
    expect(failed.status).toBe(409);
    expect(refused).toBeGreaterThan(5);
    dynamo.middlewareStack.remove('contendLaterUsers');

    const retried = await call('requestRevocation', request);
    expect(retried.status, retried.text).toBe(202);
    for (const raw of [...raws.slice(0, 3), ...raws.slice(-3)]) expect(await isActive(raw)).toBe(false);
    expect(await counts('bulk')).toEqual([0, 0]);

    const after = rawToken('after');
    await registered({ token: after, type: 'access', appId: 'bulk', userId: 'user-149' });
    await drainQueue();
    const job = (await call('getRevocationJob', { claims: as(org), path: { jobId: retried.body.jobId as string } })).body;
    expect(job).toMatchObject({ status: 'succeeded', progress: { usersDone: 150, tokensRevoked: 150 } });
    expect(await isActive(after)).toBe(true);
    expect(await counts('bulk')).toEqual([1, 1]);
    for (const raw of raws.slice(0, 5)) expect(await isActive(raw)).toBe(false);
  });
});

describe('transient conflicts', () => {
  it('an introspection that meets a transaction in progress is retried, answers active, and says so in the log', async () => {
    await createApp(org, 'busy');
    const raw = rawToken('busy');
    await registered({ token: raw, type: 'access', appId: 'busy', userId: 'ada' });
    let conflicts = 0;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand' && conflicts < 2) {
        conflicts++;
        throw Object.assign(new Error('Transaction is ongoing for the item'), { name: 'TransactionConflictException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    }, injected('conflictOnce'));
    const { lines } = captureLogLines();
    const reply = await introspect(org, raw);
    expect(reply.status).toBe(200);
    expect(reply.body.active).toBe(true);
    expect(conflicts).toBe(2);
    const retries = lines.filter((l) => l.message === 'retrying a DynamoDB request after a transaction conflict');
    expect(retries.map((r) => r.command)).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    expect((await call('listAppUsers', { claims: as(org), path: { appId: 'busy' } })).body.items?.[0]?.useCount).toBe(1);
  });
});

describe('a refresh token with many access tokens', () => {
  it('revokes in one call of a few requests: children inactive and uncounted at once, their items tombstoned by the queue', { timeout: 60_000 }, async () => {
    await createApp(org, 'fanout');
    const parent = rawToken('parent');
    const parentId = await registered({ token: parent, type: 'refresh', appId: 'fanout', userId: 'ada' });
    const children = await pMap(Array.from({ length: 600 }), async () => {
      const token = rawToken('child');
      await registered({ token, type: 'access', appId: 'fanout', userId: 'ada', refreshTokenId: parentId });
      return token;
    }, { concurrency: 4 });
    const other = rawToken('other');
    await registered({ token: other, type: 'access', appId: 'fanout', userId: 'ada' });
    expect(await counts('fanout')).toEqual([1, 602]);

    let requests = 0;
    dynamo.middlewareStack.add((next) => async (args) => {
      requests++;
      return next(args);
    }, injected('countRequests'));
    expect((await call('revoke', { claims: as(org), form: { token: parent } })).status).toBe(200);
    dynamo.middlewareStack.remove('countRequests');
    expect(requests).toBeLessThanOrEqual(6);
    expect(await counts('fanout')).toEqual([1, 1]);
    for (const child of children.slice(0, 10)) expect(await isActive(child)).toBe(false);
    expect(await isActive(other)).toBe(true);

    await drainQueue();
    expect(await items('Token', 'fanout')).toHaveLength(1);
    expect(await items('TokenTombstone', 'fanout')).toHaveLength(601);
    await expectRevoked({ token: children[0], type: 'access', appId: 'fanout', userId: 'ada', refreshTokenId: parentId });
    expect(await counts('fanout')).toEqual([1, 1]);
  });
});

describe('a restart of the local server', () => {
  it('resumes every queued or running job at once: their messages died with the old queue', async () => {
    await createApp(org, 'restart');
    for (const userId of ['ada', 'bob']) await registered({ token: rawToken('rs'), type: 'access', appId: 'restart', userId });
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'restart' }, json: { all: true } });
    expect(reply.status).toBe(202);
    expect(await dropQueue()).toBeGreaterThan(0); // Ctrl-C: the in-memory queue is gone

    expect((await resumeUnfinishedJobs(Date.now())).jobs).toBeGreaterThanOrEqual(1);
    await drainQueue();
    expect((await call('getRevocationJob', { claims: as(org), path: { jobId: reply.body.jobId as string } })).body.status).toBe('succeeded');
    expect(await items('Token', 'restart')).toEqual([]);
  });
});
