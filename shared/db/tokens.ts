import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { activationClause, activationWrites, toAppShard } from './apps.js';
import { activeUserIndexAttributes, dueIndexAttributes, dueKeys, indexKeys, keys, randomShard, type Key } from './keys.js';
import { setClause, removeClause } from './expressions.js';
import { batchGetConsistent, conditionalUpdate, failedConditions, itemOf, partitionOf, queryPage, recordOf, sameKey, withoutNulls, type Page } from './items.js';
import { table } from './table.js';
import { heldTokens, isCounted } from '../domain/rules.js';
import { tombstonePurgeAt } from '../domain/policies.js';
import type { AppShard, AppUser, AuditEvent, Token } from '../domain/model.js';
import { auditPut } from './audit.js';

type Item = Record<string, unknown>;

export function toToken(item: Item | undefined): Token | undefined {
  const t = recordOf<Partial<Token>>(item) as Token | undefined;
  return t && { ...t, expiresAt: t.expiresAt ?? null, refreshTokenId: t.refreshTokenId ?? null, lastUsedAt: t.lastUsedAt ?? null, revokedAt: t.revokedAt ?? null, dueAt: t.dueAt ?? null };
}

export function toAppUser(item: Item | undefined): AppUser | undefined {
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
 * caller read: the user row's zero-or-not, both revocation epochs, and whether the app is listed
 * as active. A concurrent change cancels the transaction ('stale') and the caller re-reads, so a
 * token never counts twice, never misses a transition, and never records an epoch that a
 * revocation already raised. A user's first token puts the user row in the active-user lists;
 * an app's first token lists the app (row and every shard) as active.
 */
export async function insertToken(token: Token, shard: AppShard, userBefore: AppUser | undefined, userName: string | undefined): Promise<InsertResult> {
  const { orgId, appId, userId } = token;
  const becomesActiveUser = heldTokens(userBefore, token.appEpoch) === 0;
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName,
            Item: itemOf('Token', keys.token(orgId, token.lookupKey), withoutNulls(token), {
              ...indexKeys.userTokens(orgId, appId, userId, token.tokenId),
              ...dueIndexKeys(token, token.dueAt),
            }),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        userIncrement(token, userBefore, userName),
        shardIncrement(shard, becomesActiveUser ? 1 : 0, token.appEpoch),
        ...(shard.active ? [] : activationWrites(orgId, appId, { except: shard.shard })),
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

/** A token's place in the sweep's due index (none when it is never due). */
const dueIndexKeys = (token: Token, dueAt: string | null) =>
  dueAt === null ? {} : dueKeys.token(dueAt, token.orgId, token.appId, token.userId, token.lookupKey);

/** The index keys that list a user row as holding active tokens. */
export const activeUserAttributes = (orgId: string, appId: string, userId: string) => ({
  ...indexKeys.activeUsersById(orgId, appId, userId),
  ...indexKeys.activeUsersByLastUse(orgId, appId),
  ...indexKeys.activeAppsOfUser(orgId, userId, appId),
});

function userIncrement(token: Token, before: AppUser | undefined, userName: string | undefined) {
  const { orgId, appId, userId, appEpoch } = token;
  const key = keys.appUser(orgId, appId, userId);
  const listed = activeUserAttributes(orgId, appId, userId);
  if (!before) {
    return {
      Put: {
        TableName,
        Item: itemOf('AppUser', key, { orgId, appId, userId, userName, useCount: 0, activeTokenCount: 1, revokeEpoch: 0, countEpoch: appEpoch }, {
          ...listed,
          ...indexKeys.lastUseSort(null, userId),
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
  const held = heldTokens(before, appEpoch);
  // After an app-wide revocation the row's count is stale (its tokens were uncounted): restart it.
  const restart = before.countEpoch !== appEpoch;
  const set = setClause({
    ...(userName ? { userName } : {}),
    ...(held === 0 ? listed : {}),
    ...(restart ? { activeTokenCount: 1, countEpoch: appEpoch } : {}),
  }, 's');
  const conditions = [
    restart ? 'countEpoch = :seenCountEpoch' : `countEpoch = :seenCountEpoch AND activeTokenCount ${held === 0 ? '=' : '>'} :zero`,
    'revokeEpoch = :userEpoch',
  ];
  return {
    Update: {
      TableName,
      Key: key,
      UpdateExpression: [restart ? '' : 'ADD activeTokenCount :one', set.parts.length ? `SET ${set.parts.join(', ')}` : ''].filter(Boolean).join(' '),
      ConditionExpression: conditions.join(' AND '),
      ...(set.parts.length ? { ExpressionAttributeNames: set.names } : {}),
      ExpressionAttributeValues: {
        ...(restart ? {} : { ':one': 1, ':zero': 0 }),
        ':seenCountEpoch': before.countEpoch, ':userEpoch': before.revokeEpoch, ...set.values,
      },
    },
  };
}

/** Registration's shard write: counts the token, pins the epoch and active flag it read, and lists the app when it was not. */
function shardIncrement(shard: AppShard, users: number, appEpoch: number) {
  const activation = shard.active ? undefined : activationClause(shard.orgId);
  return {
    Update: {
      TableName,
      Key: keys.appShard(shard.orgId, shard.appId, shard.shard),
      UpdateExpression: `ADD activeTokenCount :one, userCount :users${activation ? ` SET ${activation.expression}` : ''}`,
      ConditionExpression: 'revokeEpoch = :epoch AND active = :active',
      ...(activation ? { ExpressionAttributeNames: activation.names } : {}),
      ExpressionAttributeValues: { ':one': 1, ':users': users, ':epoch': appEpoch, ':active': shard.active, ...activation?.values },
    },
  };
}

/** Revocation's shard write: uncounts tokens (and users) on a random shard, pinned to the app epoch read. */
export function shardDecrement(orgId: string, appId: string, appEpoch: number, tokens: number, users: number) {
  return {
    Update: {
      TableName,
      Key: keys.appShard(orgId, appId, randomShard()),
      UpdateExpression: 'ADD activeTokenCount :tokens, userCount :users',
      ConditionExpression: 'revokeEpoch = :appEpoch',
      ExpressionAttributeValues: { ':tokens': -tokens, ':users': -users, ':appEpoch': appEpoch },
    },
  };
}

/**
 * Records one use: the token's and the user's `lastUsedAt`/`useCount` (and the user's
 * `firstUsedAt` on first use), written in parallel: one write round trip. Neither write may
 * resurrect an item deleted meanwhile, hence the conditions. `moveInLastUseOrder` also moves the
 * user in the by-last-use index; callers do it at most about once a minute per user, because all
 * of an app's users share that index partition and its newest end takes every such write.
 */
export async function recordUse(token: Token, at: string, moveInLastUseOrder: boolean): Promise<void> {
  const lastUse = setClause(moveInLastUseOrder ? indexKeys.lastUseSort(at, token.userId) : {}, 'l');
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
      UpdateExpression: `SET ${['lastUsedAt = :at', 'firstUsedAt = if_not_exists(firstUsedAt, :at)', ...lastUse.parts].join(', ')} ADD useCount :one`,
      ConditionExpression: 'attribute_exists(pk)',
      ...(lastUse.parts.length ? { ExpressionAttributeNames: lastUse.names } : {}),
      ExpressionAttributeValues: { ':at': at, ':one': 1, ...lastUse.values },
    })),
  ]);
  const unexpected = results.find((r) => r.status === 'rejected' && (r.reason as Error).name !== 'ConditionalCheckFailedException');
  if (unexpected?.status === 'rejected') throw unexpected.reason;
}

/** A transaction holds at most 100 items: the tokens (and an audit event), the user row and one shard. */
export const MAX_TOKENS_PER_REVOKE = 98;

/** 'stale': something changed since it was read, re-read and retry; 'user-idle': the user has no active token left. */
export type RevokeResult = 'stale' | 'revoked' | 'user-idle';

export interface RevokeOptions {
  /** Recorded in the same transaction. */
  event?: AuditEvent;
  /**
   * Purge (the sweep): delete every token, refresh tokens and tombstones included, and only if
   * it was not used since it was read. Otherwise (revocation) a refresh token becomes a tombstone.
   */
  purge?: boolean;
}

/**
 * Revokes or purges some of one user's tokens for one app, atomically. Access tokens are
 * deleted; on revocation a refresh token becomes a tombstone (`revokedAt`, out of the listing
 * index, due for purge after its retention) so that access tokens registered from it stay dead
 * even if one was missed. Tokens still counted (see `isCounted`) are uncounted in the same
 * transaction, pinned to the epochs read; the user's last token takes the user row out of the
 * active-user lists.
 */
export async function revokeTokens(user: AppUser, tokens: Token[], appEpoch: number, at: string, options: RevokeOptions = {}): Promise<RevokeResult> {
  const { event, purge = false } = options;
  if (tokens.length === 0) return 'revoked';
  if (tokens.length > MAX_TOKENS_PER_REVOKE - (event ? 1 : 0)) throw new RangeError(`At most ${MAX_TOKENS_PER_REVOKE} items per call`);
  const { orgId, appId, userId } = user;
  const count = tokens.filter((t) => t.revokedAt === null && isCounted(t, user, appEpoch)).length;
  const leavesUserIdle = count > 0 && user.activeTokenCount <= count;
  const unlisted = removeClause(leavesUserIdle ? activeUserIndexAttributes : [], 'r');
  const tokenWrites = tokens.map((t) => (t.type === 'refresh' && !purge ? tombstone(t, at) : {
    Delete: {
      TableName,
      Key: keys.token(orgId, t.lookupKey),
      ConditionExpression: purge ? 'useCount = :seenUses' : 'attribute_exists(pk)',
      ...(purge ? { ExpressionAttributeValues: { ':seenUses': t.useCount } } : {}),
    },
  }));
  const counterWrites = count === 0 ? [] : [
    {
      Update: {
        TableName,
        Key: keys.appUser(orgId, appId, userId),
        UpdateExpression: `ADD activeTokenCount :minus${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
        ConditionExpression: `activeTokenCount ${leavesUserIdle ? '=' : '>'} :count AND countEpoch = :appEpoch AND revokeEpoch = :userEpoch`,
        ...(unlisted.parts.length ? { ExpressionAttributeNames: unlisted.names } : {}),
        ExpressionAttributeValues: { ':minus': -count, ':count': count, ':appEpoch': appEpoch, ':userEpoch': user.revokeEpoch },
      },
    },
    shardDecrement(orgId, appId, appEpoch, count, leavesUserIdle ? 1 : 0),
  ];
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [...tokenWrites, ...counterWrites, ...(event ? [auditPut(event)] : [])],
    }));
    return leavesUserIdle ? 'user-idle' : 'revoked';
  } catch (error) {
    if (failedConditions(error)?.length || (error as Error).name === 'TransactionConflictException') return 'stale';
    throw error;
  }
}

/** A refresh token's revocation: it stays, marked, out of the user's token list, due for purge after its retention. */
function tombstone(token: Token, at: string) {
  const dueAt = tombstonePurgeAt(at);
  const set = setClause({ revokedAt: at, dueAt, ...dueIndexKeys(token, dueAt) }, 's');
  const unlisted = removeClause([table.indexes.gsi1.partitionKey, table.indexes.gsi1.sortKey], 't');
  return {
    Update: {
      TableName,
      Key: keys.token(token.orgId, token.lookupKey),
      UpdateExpression: `SET ${set.parts.join(', ')} REMOVE ${unlisted.parts.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
      ExpressionAttributeNames: { ...set.names, ...unlisted.names },
      ExpressionAttributeValues: set.values,
    },
  };
}

/** Moves a token in the due index (or out of it, for null), when the sweep found it was not due yet after all. */
export async function rescheduleToken(token: Token, dueAt: string | null): Promise<void> {
  const set = setClause(dueAt === null ? {} : { dueAt, ...dueIndexKeys(token, dueAt) }, 's');
  const unlisted = removeClause(dueAt === null ? ['dueAt', ...dueIndexAttributes] : [], 'r');
  await conditionalUpdate({
    Key: keys.token(token.orgId, token.lookupKey),
    UpdateExpression: [set.parts.length ? `SET ${set.parts.join(', ')}` : '', unlisted.parts.length ? `REMOVE ${unlisted.parts.join(', ')}` : ''].filter(Boolean).join(' '),
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { ...set.names, ...unlisted.names },
    ...(set.parts.length ? { ExpressionAttributeValues: set.values } : {}),
  });
}

/** A user's tokens for one app, by token id: one Query on gsi1 per page. */
export async function listUserTokens(orgId: string, appId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<Token>> {
  const page = await queryPage({ index: 'gsi1', partition: partitionOf('gsi1', indexKeys.userTokens(orgId, appId, userId)), limit, startKey });
  return { items: page.items.map((i) => toToken(i) as Token), lastKey: page.lastKey };
}

/** Access tokens registered from one refresh token (same app and user). */
export async function listChildTokens(parent: Token): Promise<Token[]> {
  const children: Token[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queryPage({
      index: 'gsi1',
      partition: partitionOf('gsi1', indexKeys.userTokens(parent.orgId, parent.appId, parent.userId)),
      filter: { expression: 'refreshTokenId = :parent', values: { ':parent': parent.tokenId } },
      startKey,
    });
    children.push(...page.items.map((i) => toToken(i) as Token));
    startKey = page.lastKey;
  } while (startKey);
  return children;
}
