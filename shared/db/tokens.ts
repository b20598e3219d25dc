import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { toAppShard } from './apps.js';
import { keys, randomShard, type Key } from './keys.js';
import { batchGetConsistent, failedConditions, itemOf, recordOf, sameKey, withoutNulls } from './items.js';
import { table } from './table.js';
import type { AppShard, AppUser, Token } from '../domain/model.js';

type Item = Record<string, unknown>;

function toToken(item: Item | undefined): Token | undefined {
  const t = recordOf<Partial<Token>>(item) as Token | undefined;
  return t && { ...t, expiresAt: t.expiresAt ?? null, refreshTokenId: t.refreshTokenId ?? null, lastUsedAt: t.lastUsedAt ?? null, revokedAt: t.revokedAt ?? null };
}

function toAppUser(item: Item | undefined): AppUser | undefined {
  const u = recordOf<Partial<AppUser>>(item) as AppUser | undefined;
  return u && { ...u, userName: u.userName ?? null, firstUsedAt: u.firstUsedAt ?? null, lastUsedAt: u.lastUsedAt ?? null };
}

export async function getToken(orgId: string, lookupKey: string): Promise<Token | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.token(orgId, lookupKey), ConsistentRead: true }));
  return toToken(out.Item);
}

export interface TokenContext {
  /** A random shard of the app: its revocation epoch and policies (undefined: no such app). */
  app: AppShard | undefined;
  user: AppUser | undefined;
  tokens: Map<string, Token>;
}

/**
 * What registration, introspection and revocation check, in one strongly consistent round trip:
 * a random shard of the app (not the app row, so a busy app's reads spread over its shards), the
 * user's usage row, and any tokens named by lookup key.
 */
export async function getTokenContext(orgId: string, appId: string, userId: string, lookupKeys: string[]): Promise<TokenContext> {
  const appKey = keys.appShard(orgId, appId, randomShard());
  const userKey = keys.appUser(orgId, appId, userId);
  const tokenKeys = lookupKeys.map((k) => keys.token(orgId, k));
  const items = await batchGetConsistent([appKey, userKey, ...tokenKeys]);
  const tokens = new Map<string, Token>();
  lookupKeys.forEach((lookupKey, i) => {
    const token = toToken(items.find(sameKey(tokenKeys[i] as Key)));
    if (token) tokens.set(lookupKey, token);
  });
  return {
    app: toAppShard(items.find(sameKey(appKey))),
    user: toAppUser(items.find(sameKey(userKey))),
    tokens,
  };
}

export type InsertResult = 'inserted' | 'token-exists' | 'stale';

/**
 * Registers a token and counts it, atomically: the token item, the user's usage row
 * (`activeTokenCount` + 1) and the app shard the caller read (`activeTokenCount` + 1, and
 * `userCount` + 1 when the user goes from zero to one active token). Conditions pin what the
 * caller read: the user row's zero-or-not and both revocation epochs. A concurrent change
 * cancels the transaction ('stale') and the caller re-reads, so a token never counts twice,
 * never misses a user transition, and never records an epoch that a revocation already raised.
 */
export async function insertToken(token: Token, shard: number, userBefore: AppUser | undefined, userName: string | undefined): Promise<InsertResult> {
  const { orgId, appId, userId } = token;
  const userKey = keys.appUser(orgId, appId, userId);
  const becomesActiveUser = !userBefore || userBefore.activeTokenCount === 0;
  const userWrite = userBefore
    ? {
        Update: {
          TableName,
          Key: userKey,
          UpdateExpression: `ADD activeTokenCount :one${userName ? ' SET userName = :name' : ''}`,
          ConditionExpression: `${becomesActiveUser ? 'activeTokenCount = :zero' : 'activeTokenCount > :zero'} AND revokeEpoch = :epoch`,
          ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':epoch': userBefore.revokeEpoch, ...(userName ? { ':name': userName } : {}) },
        },
      }
    : {
        Put: {
          TableName,
          Item: itemOf('AppUser', userKey, { orgId, appId, userId, userName, useCount: 0, activeTokenCount: 1, revokeEpoch: 0 }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      };
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName,
            Item: itemOf('Token', keys.token(orgId, token.lookupKey), withoutNulls(token), {
              [table.indexes.gsi1.partitionKey]: keys.userTokensIndex(orgId, appId, userId),
              [table.indexes.gsi1.sortKey]: keys.userTokensIndexSort(token.tokenId),
            }),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        userWrite,
        counterShardUpdate(orgId, appId, shard, +1, becomesActiveUser ? +1 : 0, token.appEpoch),
      ],
    }));
    return 'inserted';
  } catch (error) {
    const failed = failedConditions(error);
    if (failed?.includes(0)) return 'token-exists';
    if (failed?.length || (error as Error).name === 'TransactionConflictException') return 'stale';
    throw error;
  }
}

/** Adds to one shard's counters; `expectedEpoch` also requires the app's epoch to be unchanged. */
function counterShardUpdate(orgId: string, appId: string, shard: number, tokens: number, users: number, expectedEpoch?: number) {
  return {
    Update: {
      TableName,
      Key: keys.appShard(orgId, appId, shard),
      UpdateExpression: 'ADD activeTokenCount :tokens, userCount :users',
      ConditionExpression: expectedEpoch === undefined ? 'attribute_exists(pk)' : 'revokeEpoch = :epoch',
      ExpressionAttributeValues: { ':tokens': tokens, ':users': users, ...(expectedEpoch === undefined ? {} : { ':epoch': expectedEpoch }) },
    },
  };
}

/**
 * Records one use: the token's and the user's `lastUsedAt`/`useCount` (and the user's
 * `firstUsedAt` on first use), written in parallel: one write round trip. Neither write may
 * resurrect an item that was deleted meanwhile, hence the existence conditions.
 */
export async function recordUse(token: Token, at: string): Promise<void> {
  const results = await Promise.allSettled([
    db.send(new UpdateCommand({
      TableName,
      Key: keys.token(token.orgId, token.lookupKey),
      UpdateExpression: 'SET lastUsedAt = :at ADD useCount :one',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
      ExpressionAttributeValues: { ':at': at, ':one': 1 },
    })),
    db.send(new UpdateCommand({
      TableName,
      Key: keys.appUser(token.orgId, token.appId, token.userId),
      UpdateExpression: 'SET lastUsedAt = :at, firstUsedAt = if_not_exists(firstUsedAt, :at) ADD useCount :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': at, ':one': 1 },
    })),
  ]);
  const unexpected = results.find((r) => r.status === 'rejected' && (r.reason as Error).name !== 'ConditionalCheckFailedException');
  if (unexpected?.status === 'rejected') throw unexpected.reason;
}

/** A transaction holds at most 100 items: the tokens, the user row and one shard. */
export const MAX_TOKENS_PER_REVOKE = 98;

/**
 * Revokes some of one user's tokens for one app and uncounts them, atomically. Access tokens are
 * deleted; a refresh token becomes a tombstone (`revokedAt`, out of the listing index) so that
 * access tokens registered from it stay dead even if one was missed. Returns false when any token
 * or the user row changed since it was read: the caller re-reads and tries again.
 */
export async function revokeTokens(user: AppUser, tokens: Token[], at: string): Promise<boolean> {
  if (tokens.length === 0) return true;
  if (tokens.length > MAX_TOKENS_PER_REVOKE) throw new RangeError(`At most ${MAX_TOKENS_PER_REVOKE} tokens per call`);
  const { orgId, appId, userId } = user;
  const count = tokens.length;
  const leavesNoActiveToken = user.activeTokenCount <= count;
  const tokenWrites = tokens.map((t) =>
    t.type === 'refresh'
      ? {
          Update: {
            TableName,
            Key: keys.token(orgId, t.lookupKey),
            UpdateExpression: `SET revokedAt = :at REMOVE ${table.indexes.gsi1.partitionKey}, ${table.indexes.gsi1.sortKey}`,
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
            ExpressionAttributeValues: { ':at': at },
          },
        }
      : { Delete: { TableName, Key: keys.token(orgId, t.lookupKey), ConditionExpression: 'attribute_exists(pk)' } },
  );
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        ...tokenWrites,
        {
          Update: {
            TableName,
            Key: keys.appUser(orgId, appId, userId),
            UpdateExpression: 'ADD activeTokenCount :minus',
            ConditionExpression: leavesNoActiveToken ? 'activeTokenCount = :count' : 'activeTokenCount > :count',
            ExpressionAttributeValues: { ':minus': -count, ':count': count },
          },
        },
        counterShardUpdate(orgId, appId, randomShard(), -count, leavesNoActiveToken ? -1 : 0),
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.length || (error as Error).name === 'TransactionConflictException') return false;
    throw error;
  }
}

export interface Page<T> {
  items: T[];
  lastKey: Record<string, unknown> | undefined;
}

/** A user's tokens for one app, by token id: one Query on gsi1 per page. */
export async function listUserTokens(orgId: string, appId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<Token>> {
  const out: QueryCommandOutput = await db.send(new QueryCommand({
    TableName,
    IndexName: table.indexes.gsi1.name,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': table.indexes.gsi1.partitionKey },
    ExpressionAttributeValues: { ':pk': keys.userTokensIndex(orgId, appId, userId) },
    Limit: limit,
    ExclusiveStartKey: startKey,
  }));
  return { items: (out.Items ?? []).map((i) => toToken(i) as Token), lastKey: out.LastEvaluatedKey };
}

/** Access tokens registered from one refresh token (same app and user). */
export async function listChildTokens(parent: Token): Promise<Token[]> {
  const children: Token[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out: QueryCommandOutput = await db.send(new QueryCommand({
      TableName,
      IndexName: table.indexes.gsi1.name,
      KeyConditionExpression: '#pk = :pk',
      FilterExpression: 'refreshTokenId = :parent',
      ExpressionAttributeNames: { '#pk': table.indexes.gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': keys.userTokensIndex(parent.orgId, parent.appId, parent.userId), ':parent': parent.tokenId },
      ExclusiveStartKey: startKey,
    }));
    children.push(...(out.Items ?? []).map((i) => toToken(i) as Token));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return children;
}
