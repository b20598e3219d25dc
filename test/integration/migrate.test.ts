import { QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { backfillAppTokenIndex } from '../../shared/db/migrations.js';
import { table, TOKEN_INDEX_SHARDS } from '../../shared/db/table.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const org = 'org-migrate';
const { gsi6 } = table.indexes;

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
