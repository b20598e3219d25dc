import { QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { keys } from './keys.js';
import { failedConditions, itemOf, recordOf, withoutNulls } from './items.js';
import { APP_SHARDS } from './table.js';
import type { App, AppCounters, AppShard } from '../domain/model.js';

/** Creates the app row and its shards at once; false when the appId is taken. */
export async function insertApp(app: App): Promise<boolean> {
  const shards = Array.from({ length: APP_SHARDS }, (_, shard) => {
    const record: AppShard = {
      orgId: app.orgId, appId: app.appId, shard, userCount: 0, activeTokenCount: 0,
      revokeEpoch: app.revokeEpoch, policies: app.policies, lastUsedAt: null,
    };
    return { Put: { TableName, Item: itemOf('AppShard', keys.appShard(app.orgId, app.appId, shard), withoutNulls(record)) } };
  });
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName, Item: itemOf('App', keys.app(app.orgId, app.appId), withoutNulls(app)), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...shards,
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.includes(0)) return false;
    throw error;
  }
}

function toApp(item: Record<string, unknown> | undefined): App | undefined {
  const app = recordOf<Partial<App>>(item) as App | undefined;
  return app && { ...app, description: app.description ?? null, contactEmail: app.contactEmail ?? null, lastUsedAt: app.lastUsedAt ?? null };
}

export function toAppShard(item: Record<string, unknown> | undefined): AppShard | undefined {
  const shard = recordOf<Omit<AppShard, 'lastUsedAt'> & { lastUsedAt?: string }>(item);
  return shard && { ...shard, lastUsedAt: shard.lastUsedAt ?? null };
}

/** The app row with its counters summed and lastUsedAt taken over its shards: one consistent Query. */
export async function getAppWithCounters(orgId: string, appId: string): Promise<(App & AppCounters) | undefined> {
  const range = keys.appCollection(orgId, appId);
  const out = await db.send(new QueryCommand({
    TableName,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': range.pk, ':from': range.from, ':to': range.to },
    ConsistentRead: true,
  }));
  const items = out.Items ?? [];
  const app = toApp(items.find((i) => i.entity === 'App'));
  if (!app) return undefined;
  const shards = items.filter((i) => i.entity === 'AppShard').map((i) => toAppShard(i) as AppShard);
  const lastUsed = shards.map((s) => s.lastUsedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
  return {
    ...app,
    lastUsedAt: lastUsed,
    userCount: shards.reduce((sum, s) => sum + s.userCount, 0),
    activeTokenCount: shards.reduce((sum, s) => sum + s.activeTokenCount, 0),
  };
}

/**
 * Moves a shard's `lastUsedAt` forward, but only if it is older than `staleBefore`: each shard of
 * a busy app is then written about once a minute for this, not once per introspection.
 */
export async function touchShardLastUsed(shard: AppShard, at: string, staleBefore: string): Promise<void> {
  try {
    await db.send(new UpdateCommand({
      TableName,
      Key: keys.appShard(shard.orgId, shard.appId, shard.shard),
      UpdateExpression: 'SET lastUsedAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :stale)',
      ExpressionAttributeValues: { ':at': at, ':stale': staleBefore },
    }));
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}
