import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from './audit.js';
import { db, TableName } from './client.js';
import { removeClause, setClause } from './expressions.js';
import { activeAppIndexAttributes, indexKeys, keys } from './keys.js';
import { conditionalUpdate, failedConditions, itemOf, queryPage, partitionOf, recordOf, withoutNulls, type Page } from './items.js';
import { APP_SHARDS, entityAttribute, table } from './table.js';
import type { App, AppCounters, AppShard, AuditEvent } from '../domain/model.js';
import type { Policies } from '../schemas/apps.js';

type Item = Record<string, unknown>;
const shardNumbers = Array.from({ length: APP_SHARDS }, (_, n) => n);

function toApp(item: Item | undefined): App | undefined {
  const app = recordOf<Partial<App>>(item) as App | undefined;
  return app && { ...app, description: app.description ?? null, contactEmail: app.contactEmail ?? null, lastUsedAt: app.lastUsedAt ?? null };
}

export function toAppShard(item: Item | undefined): AppShard | undefined {
  const shard = recordOf<Omit<AppShard, 'lastUsedAt'> & { lastUsedAt?: string }>(item);
  return shard && { ...shard, lastUsedAt: shard.lastUsedAt ?? null };
}

/** An app row with its shards' counters summed and the latest of their `lastUsedAt`. */
function withCounters(app: App, shards: AppShard[]): App & AppCounters {
  const lastUsed = shards.map((s) => s.lastUsedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
  return {
    ...app,
    lastUsedAt: lastUsed,
    userCount: shards.reduce((sum, s) => sum + s.userCount, 0),
    activeTokenCount: shards.reduce((sum, s) => sum + s.activeTokenCount, 0),
  };
}

/** Creates the app row, its shards and the `app.created` event at once; false when the appId is taken. */
export async function insertApp(app: App, event: AuditEvent): Promise<boolean> {
  const { orgId, appId, name } = app;
  const shards = shardNumbers.map((shard) => {
    const record: AppShard = {
      orgId, appId, shard, userCount: 0, activeTokenCount: 0, revokeEpoch: app.revokeEpoch, policies: app.policies, lastUsedAt: null, active: false,
    };
    return { Put: { TableName, Item: itemOf('AppShard', keys.appShard(orgId, appId, shard), withoutNulls(record), indexKeys.appsByName(orgId, name, appId, shard)) } };
  });
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName,
            Item: itemOf('App', keys.app(orgId, appId), withoutNulls(app), indexKeys.appsByName(orgId, name, appId)),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...shards,
        auditPut(event),
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.includes(0)) return false;
    throw error;
  }
}

/** Whether the org has this app: one consistent GetItem of the row's key only. */
export async function appExists(orgId: string, appId: string): Promise<boolean> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.app(orgId, appId), ConsistentRead: true, ProjectionExpression: 'pk' }));
  return out.Item !== undefined;
}

/** The app row with its counters: one strongly consistent Query over the app's collection. */
export async function getAppWithCounters(orgId: string, appId: string): Promise<(App & AppCounters & { shards: AppShard[] }) | undefined> {
  const range = keys.appCollection(orgId, appId);
  const out = await db.send(new QueryCommand({
    TableName,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': range.pk, ':from': range.from, ':to': range.to },
    ConsistentRead: true,
  }));
  const items = out.Items ?? [];
  const app = toApp(items.find((i) => i[entityAttribute] === 'App'));
  if (!app) return undefined;
  const shards = items.filter((i) => i[entityAttribute] === 'AppShard').map((i) => toAppShard(i) as AppShard);
  return { ...withCounters(app, shards), shards };
}

/**
 * One page of the org's apps by case-insensitive name (optionally a name prefix), all of them or
 * only those holding active tokens: one Query on an index that holds each app row followed by
 * its shards. A page that ends inside an app's group (the index is eventually consistent) is cut
 * back to the last whole app, and the next page starts there.
 */
export async function listApps(orgId: string, options: { activeOnly: boolean; namePrefix?: string; limit: number; startKey?: Item }): Promise<Page<App & AppCounters>> {
  const group = APP_SHARDS + 1;
  const index = options.activeOnly ? 'gsi2' : 'gsi1';
  const attributes = options.activeOnly ? indexKeys.activeAppsByName(orgId, '', '') : indexKeys.appsByName(orgId, '', '');
  const page = await queryPage({
    index,
    partition: partitionOf(index, attributes),
    prefix: options.namePrefix?.toLowerCase(),
    limit: options.limit * group,
    startKey: options.startKey,
  });
  const apps: (App & AppCounters)[] = [];
  let lastWhole: Item | undefined;
  let current: { app: App; shards: AppShard[]; last: Item } | undefined;
  const flush = () => {
    if (current && current.shards.length === APP_SHARDS) {
      apps.push(withCounters(current.app, current.shards));
      lastWhole = current.last;
    }
  };
  for (const item of page.items) {
    if (item[entityAttribute] === 'App') {
      flush();
      current = { app: toApp(item) as App, shards: [], last: item };
    } else if (current && item.appId === current.app.appId) {
      current.shards.push(toAppShard(item) as AppShard);
      current.last = item;
    }
  }
  if (!page.lastKey) flush();
  else if (current?.shards.length === APP_SHARDS) flush();
  const keyOf = (item: Item) => Object.fromEntries([table.partitionKey, table.sortKey, table.indexes[index].partitionKey, table.indexes[index].sortKey].map((k) => [k, item[k]]));
  return { items: apps, lastKey: page.lastKey && lastWhole ? keyOf(lastWhole) : page.lastKey };
}

/** SET for listing the app as active: the active-apps index keys copy the by-name sort key. */
export function activationClause(orgId: string) {
  const { gsi1, gsi2 } = table.indexes;
  return {
    expression: 'active = :true, #activePk = :activePk, #activeSk = #nameSk',
    names: { '#activePk': gsi2.partitionKey, '#activeSk': gsi2.sortKey, '#nameSk': gsi1.sortKey },
    values: { ':true': true, ':activePk': partitionOf('gsi2', indexKeys.activeAppsByName(orgId, '', '')) },
  };
}

/** Lists the app as active on its row and every shard but one (the caller writes that one). */
export function activationWrites(orgId: string, appId: string, { except }: { except: number }) {
  const clause = activationClause(orgId);
  const itemKeys = [keys.app(orgId, appId), ...shardNumbers.filter((n) => n !== except).map((n) => keys.appShard(orgId, appId, n))];
  return itemKeys.map((Key) => ({
    Update: { TableName, Key, UpdateExpression: `SET ${clause.expression}`, ExpressionAttributeNames: clause.names, ExpressionAttributeValues: clause.values },
  }));
}

/**
 * Takes the app out of the active list when its counters show no active token, atomically with
 * a check that no shard's count moved since they were read (a registration in between wins).
 */
export async function deactivateIfIdle(orgId: string, appId: string): Promise<void> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app?.active || app.activeTokenCount !== 0) return;
  const unlisted = removeClause(activeAppIndexAttributes, 'r');
  const write = (key: ReturnType<typeof keys.app>, condition: string, values: Item) => ({
    Update: {
      TableName, Key: key,
      UpdateExpression: `SET active = :false REMOVE ${unlisted.parts.join(', ')}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: unlisted.names,
      ExpressionAttributeValues: { ':false': false, ...values },
    },
  });
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        write(keys.app(orgId, appId), 'active = :true', { ':true': true }),
        ...app.shards.map((s) => write(keys.appShard(orgId, appId, s.shard), 'activeTokenCount = :seen', { ':seen': s.activeTokenCount })),
      ],
    }));
  } catch (error) {
    if (!failedConditions(error)?.length && (error as Error).name !== 'TransactionConflictException') throw error;
  }
}

export interface AppChange {
  /** The version the change was computed from; the write fails if the app moved on. */
  expectedVersion: number;
  settings?: Partial<Pick<App, 'name' | 'description' | 'contactEmail' | 'callbackUrls' | 'scopes'>>;
  policies?: Policies;
  updatedAt: string;
  event: AuditEvent;
}

/**
 * Applies a settings or policies change to the app row (version + 1), and to every shard what
 * the shards copy (policies; the name in their index sort keys), with its audit event, in one
 * transaction. False when the app's version is no longer `expectedVersion`.
 */
export async function updateApp(orgId: string, appId: string, change: AppChange): Promise<boolean> {
  const { gsi1, gsi2 } = table.indexes;
  const name = change.settings?.name;
  const nameKeys = (shard?: number) =>
    name === undefined ? {} : {
      [gsi1.sortKey]: indexKeys.appsByName(orgId, name, appId, shard)[gsi1.sortKey],
      [gsi2.sortKey]: indexKeys.activeAppsByName(orgId, name, appId, shard)[gsi2.sortKey],
    };
  const update = (key: ReturnType<typeof keys.app>, attributes: Item, extra: { condition?: string; values?: Item; add?: string } = {}) => {
    const set = setClause(attributes, 's');
    return {
      Update: {
        TableName, Key: key,
        UpdateExpression: `SET ${set.parts.join(', ')}${extra.add ? ` ADD ${extra.add}` : ''}`,
        ConditionExpression: extra.condition ?? 'attribute_exists(pk)',
        ExpressionAttributeNames: set.names,
        ExpressionAttributeValues: { ...set.values, ...extra.values },
      },
    };
  };
  const shardCopies = (shard: number) => ({ ...(change.policies ? { policies: change.policies } : {}), ...nameKeys(shard) });
  const shardWrites = Object.keys(shardCopies(0)).length
    ? shardNumbers.map((n) => update(keys.appShard(orgId, appId, n), shardCopies(n)))
    : [];
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        update(keys.app(orgId, appId), { ...change.settings, ...(change.policies ? { policies: change.policies } : {}), updatedAt: change.updatedAt, ...nameKeys() }, {
          condition: 'version = :expected',
          values: { ':expected': change.expectedVersion, ':one': 1 },
          add: 'version :one',
        }),
        ...shardWrites,
        auditPut(change.event),
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.includes(0)) return false;
    throw error;
  }
}

/**
 * Moves a shard's `lastUsedAt` forward, but only if it is older than `staleBefore`: each shard of
 * a busy app is then written about once a minute for this, not once per introspection.
 */
export async function touchShardLastUsed(shard: AppShard, at: string, staleBefore: string): Promise<void> {
  await conditionalUpdate({
    Key: keys.appShard(shard.orgId, shard.appId, shard.shard),
    UpdateExpression: 'SET lastUsedAt = :at',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :stale)',
    ExpressionAttributeValues: { ':at': at, ':stale': staleBefore },
  });
}
