import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { keys } from './keys.js';
import { failedConditions, itemOf, recordOf } from './items.js';
import { APP_COUNTER_SHARDS } from './table.js';
import type { App, AppCounters } from '../domain/model.js';

/** Creates the app row and its zeroed counter shards at once; false when the appId is taken. */
export async function insertApp(app: App): Promise<boolean> {
  const shards = Array.from({ length: APP_COUNTER_SHARDS }, (_, shard) => ({
    Put: {
      TableName,
      Item: itemOf('AppCounterShard', keys.appShard(app.orgId, app.appId, shard), {
        orgId: app.orgId, appId: app.appId, shard, userCount: 0, activeTokenCount: 0,
      }),
    },
  }));
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName, Item: itemOf('App', keys.app(app.orgId, app.appId), app), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...shards,
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.includes(0)) return false;
    throw error;
  }
}

export async function getApp(orgId: string, appId: string): Promise<App | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.app(orgId, appId), ConsistentRead: true }));
  return recordOf<App>(out.Item);
}

/** The app row and its counters summed over the shards: one strongly consistent Query. */
export async function getAppWithCounters(orgId: string, appId: string): Promise<(App & AppCounters) | undefined> {
  const range = keys.appCollection(orgId, appId);
  const out = await db.send(new QueryCommand({
    TableName,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': range.pk, ':from': range.from, ':to': range.to },
    ConsistentRead: true,
  }));
  const items = out.Items ?? [];
  const app = recordOf<App>(items.find((i) => i.entity === 'App'));
  if (!app) return undefined;
  const counters = items
    .filter((i) => i.entity === 'AppCounterShard')
    .reduce<AppCounters>((sum, s) => ({
      userCount: sum.userCount + Number(s.userCount ?? 0),
      activeTokenCount: sum.activeTokenCount + Number(s.activeTokenCount ?? 0),
    }), { userCount: 0, activeTokenCount: 0 });
  return { ...app, ...counters };
}

/**
 * Moves the app's `lastUsedAt` forward, but only if it is older than `staleBefore`: concurrent
 * introspections of a busy app then write the hot app row about once a minute, not per call.
 */
export async function touchAppLastUsed(orgId: string, appId: string, at: string, staleBefore: string): Promise<void> {
  try {
    await db.send(new UpdateCommand({
      TableName,
      Key: keys.app(orgId, appId),
      UpdateExpression: 'SET lastUsedAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_type(lastUsedAt, :null) OR lastUsedAt < :stale)',
      ExpressionAttributeValues: { ':at': at, ':stale': staleBefore, ':null': 'NULL' },
    }));
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}
