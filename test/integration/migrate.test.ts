import { DeleteCommand, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { appUserKeys, LEGACY_USER_APPS_INDEX } from '../../shared/db/app-user.js';
import { backfillAppTokenIndex, relistUserRows } from '../../shared/db/migrations.js';
import { table, TOKEN_INDEX_SHARDS } from '../../shared/db/table.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const org = 'org-migrate';
const { gsi3, gsi4, gsi6 } = table.indexes;

const tokenItems = async (entity: 'Token' | 'TokenTombstone') => (await db.send(new ScanCommand({
  TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND entity = :e', ExpressionAttributeValues: { ':o': org, ':e': entity },
}))).Items ?? [];

/** Every item the app token index lists for the app's epoch 0, over its shards. */
async function indexed(appId: string): Promise<string[]> {
  const keys: string[] = [];
  for (let shard = 0; shard < TOKEN_INDEX_SHARDS; shard++) {
    const out = await db.send(new QueryCommand({
      TableName, IndexName: gsi6.name, KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi6.partitionKey }, ExpressionAttributeValues: { ':pk': `ORG#${org}#APP#${appId}#TOKENS#0#${shard}` },
    }));
    keys.push(...(out.Items ?? []).map((i) => i.pk as string));
  }
  return keys.sort();
}

describe('npm run migrate: the app token index backfill', () => {
  it('lists tokens registered before the index, resumes where it stopped, changes nothing twice, and lets an all-tokens job clean them', { timeout: 60_000 }, async () => {
    await createApp(org, 'old');
    const raws = Array.from({ length: 30 }, () => rawToken('old'));
    for (const [n, token] of raws.entries()) expect((await register(org, { token, type: 'access', appId: 'old', userId: `user-${n % 6}` })).status).toBe(201);
    const revoked = await call('revoke', { claims: as(org, { scope: 'tokens:write' }), form: { token: raws[0] as string } });
    expect(revoked.status).toBe(200);
    // As an older version stored them: no gsi6 keys on any token.
    const live = await tokenItems('Token');
    expect(live).toHaveLength(29);
    for (const item of live) {
      await db.send(new UpdateCommand({ TableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: 'REMOVE #pk, #sk', ExpressionAttributeNames: { '#pk': gsi6.partitionKey, '#sk': gsi6.sortKey } }));
    }
    const [tombstoneBefore] = await tokenItems('TokenTombstone');
    expect(await indexed('old')).toEqual([]);

    // Stopped after one small page per segment, as a killed run would be.
    const first = await backfillAppTokenIndex({ pagesPerSegment: 1, pageSize: 5 });
    expect(first.complete).toBe(false);
    expect(first.updated).toBeLessThan(29);
    const resumed = await backfillAppTokenIndex({ pageSize: 5 });
    expect(resumed.complete).toBe(true);
    expect(first.updated + resumed.updated).toBe(29);
    expect(await indexed('old')).toEqual(live.map((i) => i.pk as string).sort());
    // The tombstone is not listed or changed; a run after the end changes nothing.
    expect(await tokenItems('TokenTombstone')).toEqual([tombstoneBefore]);
    expect(await backfillAppTokenIndex({ pageSize: 5 })).toMatchObject({ updated: 0, complete: true });

    const job = await call('requestRevocation', { claims: as(org), path: { appId: 'old' }, json: { all: true } });
    expect(job.status).toBe(202);
    await drainQueue();
    expect((await call('getRevocationJob', { claims: as(org), path: { jobId: job.body.jobId as string } })).body).toMatchObject({ status: 'succeeded', progress: { usersDone: 6, tokensRevoked: 29 } });
    expect(await tokenItems('Token')).toEqual([]);
    expect(await tokenItems('TokenTombstone')).toHaveLength(30);
    expect((await introspect(org, raws[1] as string)).body).toEqual({ active: false });
  });
});

describe('npm run migrate: user rows onto the epoch-keyed lists', () => {
  const appId = 'lists';
  const users = async (sort: 'userId' | '-lastUsedAt') => ((await call('listAppUsers', { claims: as(org), path: { appId }, query: { sort } })).body.items ?? []).map((u) => u.userId);
  const appsOf = async (userId: string) => ((await call('listUserApps', { claims: as(org), path: { userId } })).body.items ?? []).map((a) => a.appId);
  const row = async (userId: string) => (await db.send(new GetCommand({ TableName, Key: appUserKeys.row(org, appId, userId), ConsistentRead: true }))).Item ?? {};

  it('moves rows an older version listed, resumes where it stopped, changes nothing twice, and the lists show them again', { timeout: 60_000 }, async () => {
    await createApp(org, appId);
    const raws = { ada: [rawToken(appId), rawToken(appId)], bob: [rawToken(appId)], cy: [rawToken(appId)] };
    for (const [userId, tokens] of Object.entries(raws)) {
      for (const token of tokens) expect((await register(org, { token, type: 'access', appId, userId })).status).toBe(201);
    }
    expect((await introspect(org, raws.bob[0] as string)).body.active).toBe(true);
    // As an older version stored them: listed rows keyed without epochs and with the user's-apps index keys, no links.
    for (const userId of ['ada', 'bob', 'cy']) {
      const lastUsedAt = (await row(userId)).lastUsedAt as string | undefined;
      await db.send(new UpdateCommand({
        TableName, Key: appUserKeys.row(org, appId, userId),
        UpdateExpression: 'SET #s3 = :s3, #s4 = :s4, #p5 = :p5, #s5 = :s5',
        ExpressionAttributeNames: { '#s3': gsi3.sortKey, '#s4': gsi4.sortKey, '#p5': LEGACY_USER_APPS_INDEX[0], '#s5': LEGACY_USER_APPS_INDEX[1] },
        ExpressionAttributeValues: { ':s3': `USER#${userId}`, ':s4': `${lastUsedAt ?? '0'}#${userId}`, ':p5': `ORG#${org}#USER#${userId}#ACTIVE-APPS`, ':s5': `APP#${appId}` },
      }));
      await db.send(new DeleteCommand({ TableName, Key: appUserKeys.appOfUser(org, userId, appId, 0) }));
    }
    // Cy's row was unlisted since (by this version, which leaves the old keys alone).
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId, userId: 'cy' } })).status).toBe(202);
    expect([await users('userId'), await users('-lastUsedAt'), await appsOf('ada')]).toEqual([[], [], []]);

    const first = await relistUserRows({ pagesPerSegment: 1, pageSize: 3 });
    const resumed = await relistUserRows({ pageSize: 3 });
    expect([first.complete, resumed.complete, first.updated + resumed.updated]).toEqual([false, true, 3]);
    expect(await users('userId')).toEqual(['ada', 'bob']);
    expect(await users('-lastUsedAt')).toEqual(['bob', 'ada']);
    expect([await appsOf('ada'), await appsOf('bob'), await appsOf('cy')]).toEqual([[appId], [appId], []]);
    for (const userId of ['ada', 'bob', 'cy']) expect(await row(userId)).not.toHaveProperty(LEGACY_USER_APPS_INDEX[0]);
    expect(await relistUserRows({ pageSize: 3 })).toMatchObject({ updated: 0, complete: true });

    // A use moves the moved row in the by-last-use list as it does any other.
    expect((await introspect(org, raws.ada[0] as string)).body.active).toBe(true);
    expect(await users('-lastUsedAt')).toEqual(['ada', 'bob']);
  });
});
