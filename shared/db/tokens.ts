import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { activationClause, activationWrites, toAppShard } from './apps.js';
import { activeUserIndexAttributes, dueIndexAttributes, dueKeys, indexKeys, keys, randomShard, type Key } from './keys.js';
import { setClause, removeClause } from './expressions.js';
import { batchGetConsistent, batchWrite, chunk, conditionalUpdate, failedConditions, itemOf, partitionOf, queryPage, recordOf, sameKey, transact, withoutNulls, type Page } from './items.js';
import { table } from './table.js';
import { heldTokens } from '../domain/rules.js';
import type { AppShard, AppUser, AuditEvent, Token } from '../domain/model.js';
import { auditPut } from './audit.js';

type Item = Record<string, unknown>;

/** A token item, or a tombstone (which keeps only what identifies the token, and `revokedAt`). */
export function toToken(item: Item | undefined): Token | undefined {
  const t = recordOf<Partial<Token>>(item) as Token | undefined;
  return t && {
    ...t,
    scopes: t.scopes ?? [], issuedAt: t.issuedAt ?? t.revokedAt ?? '', appEpoch: t.appEpoch ?? 0, userEpoch: t.userEpoch ?? 0, useCount: t.useCount ?? 0,
    childCount: t.childCount ?? 0, expiresAt: t.expiresAt ?? null, presentableUntil: t.presentableUntil ?? null, refreshTokenId: t.refreshTokenId ?? null, lastUsedAt: t.lastUsedAt ?? null,
    revokedAt: t.revokedAt ?? null, dueAt: t.dueAt ?? null,
  };
}

export function toAppUser(item: Item | undefined): AppUser | undefined {
  const u = recordOf<Partial<AppUser>>(item) as AppUser | undefined;
  return u && { ...u, userName: u.userName ?? null, firstUsedAt: u.firstUsedAt ?? null, lastUsedAt: u.lastUsedAt ?? null };
}

export async function getToken(orgId: string, lookupKey: string): Promise<Token | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.token(orgId, lookupKey), ConsistentRead: true }));
  return toToken(out.Item);
}

/**
 * The token (or tombstone) stored under the first of `lookupKeys` that holds one: a raw value's
 * keys under every key version, current first. One GetItem, or one BatchGetItem once rotated.
 */
export async function findToken(orgId: string, lookupKeys: string[]): Promise<Token | undefined> {
  if (lookupKeys.length === 1) return getToken(orgId, lookupKeys[0] as string);
  const found = new Map((await getTokens(orgId, lookupKeys)).map((t) => [t.lookupKey, t]));
  return lookupKeys.map((k) => found.get(k)).find((t) => t !== undefined);
}

/** Tokens (or their tombstones) by lookup key, strongly consistent, in BatchGetItem calls of 100 run in parallel. */
export async function getTokens(orgId: string, lookupKeys: string[]): Promise<Token[]> {
  const parts = chunk([...new Set(lookupKeys)], 100);
  const items = (await Promise.all(parts.map((part) => batchGetConsistent(part.map((k) => keys.token(orgId, k)))))).flat();
  return items.map((i) => toToken(i) as Token);
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
  lookupKeys = [...new Set(lookupKeys)]; // a key twice in one BatchGetItem is an error
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
export async function insertToken(token: Token, shard: AppShard, userBefore: AppUser | undefined, userName: string | undefined, parent?: Token): Promise<InsertResult> {
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
        ...(parent ? [childIncrement(parent)] : []),
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

/** An access token registered from a refresh token counts as its child, while the refresh token is not revoked. */
function childIncrement(parent: Token) {
  return {
    Update: {
      TableName,
      Key: keys.token(parent.orgId, parent.lookupKey),
      UpdateExpression: 'ADD childCount :one',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
      ExpressionAttributeValues: { ':one': 1 },
    },
  };
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

/**
 * Tokens of one user removed in one transaction. Each may name a parent whose `childCount` goes
 * down too, so a transaction (at most 100 items) holds the tokens, as many parents, the user row,
 * one shard and an audit event.
 */
export const MAX_TOKENS_PER_REVOKE = 48;

/** 'stale': something changed since it was read, re-read and retry; 'user-idle': the user has no active token left. */
export type RevokeResult = 'stale' | 'revoked' | 'user-idle';

/**
 * What one transaction does to some of one user's tokens for one app, as the domain decided it
 * (see `planRemoval`): each token is tombstoned (revoked: remembered until it expires) or deleted
 * (expired or out of policy, only if it was not used since it was read); `uncount` tokens leave
 * the user's and the app's counters; refresh tokens that stay lose the children named here.
 */
export interface Removal {
  /** The user's row as read (undefined: none, and then nothing is uncounted). */
  user: AppUser | undefined;
  appEpoch: number;
  at: string;
  /** `checkChildrenAt`: a refresh token revoked on its own, whose children the sweep checks then. */
  tokens: { token: Token; action: 'tombstone' | 'delete'; checkChildrenAt?: string }[];
  uncount: number;
  parents: { lookupKey: string; children: number }[];
  event?: AuditEvent;
}

/**
 * Runs a removal atomically, pinned to what was read: each token as read (a tombstone only over
 * a live token with the children it had; a delete only if unused since), parents still live, and
 * the user's count and epochs. The user's last token takes the row out of the active-user lists.
 */
export async function removeTokens(removal: Removal): Promise<RevokeResult> {
  const { user, appEpoch, at, uncount, event } = removal;
  if (removal.tokens.length === 0) return 'revoked';
  if (removal.tokens.length + removal.parents.length > 2 * MAX_TOKENS_PER_REVOKE) throw new RangeError(`At most ${MAX_TOKENS_PER_REVOKE} tokens per call`);
  if (uncount > 0 && !user) throw new RangeError('Nothing can be uncounted without the user row');
  const { orgId, appId, userId } = removal.tokens[0]!.token;
  const leavesUserIdle = user !== undefined && uncount > 0 && user.activeTokenCount <= uncount;
  const unlisted = removeClause(leavesUserIdle ? activeUserIndexAttributes : [], 'r');
  const tokenWrites = removal.tokens.map(({ token, action, checkChildrenAt }) => (action === 'tombstone'
    ? {
      Put: {
        TableName,
        Item: tombstoneItem(token, at, checkChildrenAt ?? null),
        ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(revokedAt) AND ${token.childCount === 0 ? '(attribute_not_exists(childCount) OR childCount = :seenChildren)' : 'childCount = :seenChildren'}`,
        ExpressionAttributeValues: { ':seenChildren': token.childCount },
      },
    }
    : {
      Delete: {
        TableName,
        Key: keys.token(orgId, token.lookupKey),
        ConditionExpression: 'useCount = :seenUses AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':seenUses': token.useCount },
      },
    }));
  const parentWrites = removal.parents.map(({ lookupKey, children }) => ({
    Update: {
      TableName,
      Key: keys.token(orgId, lookupKey),
      UpdateExpression: 'ADD childCount :minus',
      ConditionExpression: 'attribute_not_exists(revokedAt) AND childCount >= :children',
      ExpressionAttributeValues: { ':minus': -children, ':children': children },
    },
  }));
  const counterWrites = uncount === 0 || !user ? [] : [
    {
      Update: {
        TableName,
        Key: keys.appUser(orgId, appId, userId),
        UpdateExpression: `ADD activeTokenCount :minus${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
        ConditionExpression: `activeTokenCount ${leavesUserIdle ? '=' : '>'} :count AND countEpoch = :appEpoch AND revokeEpoch = :userEpoch`,
        ...(unlisted.parts.length ? { ExpressionAttributeNames: unlisted.names } : {}),
        ExpressionAttributeValues: { ':minus': -uncount, ':count': uncount, ':appEpoch': appEpoch, ':userEpoch': user.revokeEpoch },
      },
    },
    shardDecrement(orgId, appId, appEpoch, uncount, leavesUserIdle ? 1 : 0),
  ];
  const done = await transact([...tokenWrites, ...parentWrites, ...counterWrites, ...(event ? [auditPut(event)] : [])]);
  if (!done) return 'stale';
  return leavesUserIdle ? 'user-idle' : 'revoked';
}

/**
 * What stays of a revoked token: enough to refuse its registration again (lookup key, app, user,
 * type) and to keep the access tokens registered from it dead. DynamoDB's TTL removes it once the
 * caller's own expiry for it has passed (`presentableUntil`); a token without one is remembered for good. A refresh token
 * revoked on its own keeps no TTL and is due for the sweep at `checkChildrenAt`, which makes sure
 * no access token registered from it was missed, and only then sets the TTL.
 */
export function tombstoneItem(token: Token, at: string, checkChildrenAt: string | null): Item {
  const { orgId, appId, userId, lookupKey, tokenId, type, expiresAt, presentableUntil, refreshTokenId } = token;
  const dueAt = checkChildrenAt;
  return itemOf('TokenTombstone', keys.token(orgId, lookupKey), withoutNulls({ orgId, appId, userId, lookupKey, tokenId, type, expiresAt, presentableUntil, refreshTokenId, revokedAt: at, dueAt }), {
    ...(dueAt === null ? ttlOf(presentableUntil) : dueIndexKeys(token, dueAt)),
  });
}

const ttlOf = (until: string | null) => (until === null ? {} : { [table.ttlAttribute]: Math.ceil(Date.parse(until) / 1000) });

/** Tombstones of tokens a watermark already killed and uncounted (a job's cleanup), in full BatchWriteItem calls. */
export async function tombstoneTokens(tokens: Token[], at: string): Promise<void> {
  await batchWrite(tokens.map((t) => ({ PutRequest: { Item: tombstoneItem(t, at, null) } })));
}

/** After the children check: the tombstone leaves the due index and expires with the token. */
export async function settleTombstone(token: Token): Promise<void> {
  const ttl = ttlOf(token.presentableUntil);
  const set = setClause(ttl, 's');
  const unlisted = removeClause(['dueAt', ...dueIndexAttributes], 'r');
  await conditionalUpdate({
    Key: keys.token(token.orgId, token.lookupKey),
    UpdateExpression: `${set.parts.length ? `SET ${set.parts.join(', ')} ` : ''}REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: 'attribute_exists(revokedAt)',
    ExpressionAttributeNames: { ...set.names, ...unlisted.names },
    ...(set.parts.length ? { ExpressionAttributeValues: set.values } : {}),
  });
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

/**
 * One page of the live access tokens registered from a refresh token (same app and user): one
 * Query over the user's tokens (up to 1,000 read), filtered to the parent's children.
 */
export async function pageChildTokens(parent: Pick<Token, 'orgId' | 'appId' | 'userId' | 'tokenId'>, startKey?: Record<string, unknown>): Promise<Page<Token>> {
  const page = await queryPage({
    index: 'gsi1',
    partition: partitionOf('gsi1', indexKeys.userTokens(parent.orgId, parent.appId, parent.userId)),
    filter: { expression: 'refreshTokenId = :parent', values: { ':parent': parent.tokenId } },
    limit: 1000,
    startKey,
  });
  return { items: page.items.map((i) => toToken(i) as Token), lastKey: page.lastKey };
}
