import { TableName } from './client.js';
import { removeClause, setClause } from './expressions.js';
import { batchGetConsistent, chunk, conditionalUpdate, transact, type TransactItem, partitionOf, queryPage, sameKey, type Page } from './items.js';
import { activeAppIndexAttributes, activeUserIndexAttributes, indexKeys, keys, randomShard } from './keys.js';
import { toAppShard } from './apps.js';
import { activeUserAttributes, shardDecrement, toAppUser, toToken } from './tokens.js';
import { APP_SHARDS } from './table.js';
import { heldTokens } from '../domain/rules.js';
import type { AppShard, AppUser, Token } from '../domain/model.js';

/** A random shard of the app and the named users' rows, strongly consistent (BatchGetItem per 99 users, in parallel). */
export async function getUsersOfApp(orgId: string, appId: string, userIds: string[]): Promise<{ shard: AppShard | undefined; users: Map<string, AppUser> }> {
  const shardKey = keys.appShard(orgId, appId, randomShard());
  const chunks = chunk(userIds, 99);
  const results = await Promise.all(chunks.map((ids, i) => batchGetConsistent([...(i === 0 ? [shardKey] : []), ...ids.map((u) => keys.appUser(orgId, appId, u))])));
  const items = results.flat();
  const users = new Map<string, AppUser>();
  for (const userId of userIds) {
    const user = toAppUser(items.find(sameKey(keys.appUser(orgId, appId, userId))));
    if (user) users.set(userId, user);
  }
  return { shard: toAppShard(items.find(sameKey(shardKey))), users };
}

/**
 * Revokes every token of some users at once: each user's epoch goes up to its target and their
 * counted tokens are uncounted (user rows zeroed and unlisted, one shard decremented), pinned to
 * what was read, together with `extra` items (the job, its audit event…). False if anything moved.
 */
export async function revokeUsers(orgId: string, appId: string, appEpoch: number, users: { user: AppUser; target: number }[], extra: TransactItem[] = []): Promise<boolean> {
  const unlisted = removeClause(activeUserIndexAttributes, 'r');
  const held = users.map(({ user }) => heldTokens(user, appEpoch));
  const tokens = held.reduce((a, b) => a + b, 0);
  const idle = held.filter((h) => h > 0).length;
  const userWrites = users.map(({ user, target }) => ({
    Update: {
      TableName,
      Key: keys.appUser(orgId, appId, user.userId),
      UpdateExpression: `SET revokeEpoch = :target, activeTokenCount = :zero, countEpoch = :appEpoch REMOVE ${unlisted.parts.join(', ')}`,
      ConditionExpression: 'revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount',
      ExpressionAttributeNames: unlisted.names,
      ExpressionAttributeValues: {
        ':target': target, ':zero': 0, ':appEpoch': appEpoch,
        ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount,
      },
    },
  }));
  return transact([...extra, ...userWrites, ...(tokens > 0 ? [shardDecrement(orgId, appId, appEpoch, tokens, idle)] : [])]);
}

/**
 * Revokes every token of the app at once: its epoch goes up on the row and every shard, the
 * counters go to zero and the app leaves the active list, with `extra` items. Users' rows still
 * count under the old epoch, which makes them count nothing (see `heldTokens`) until cleaned.
 */
export async function revokeApp(orgId: string, appId: string, appEpoch: number, extra: TransactItem[] = []): Promise<boolean> {
  const unlisted = removeClause(activeAppIndexAttributes, 'r');
  const write = (key: ReturnType<typeof keys.app>, counters: boolean, condition?: string) => ({
    Update: {
      TableName,
      Key: key,
      UpdateExpression: `SET revokeEpoch = :next, active = :false${counters ? ', activeTokenCount = :zero, userCount = :zero' : ''} REMOVE ${unlisted.parts.join(', ')}`,
      ConditionExpression: condition ?? 'attribute_exists(pk)',
      ExpressionAttributeNames: unlisted.names,
      ExpressionAttributeValues: { ':next': appEpoch + 1, ':false': false, ...(counters ? { ':zero': 0 } : {}), ...(condition ? { ':seen': appEpoch } : {}) },
    },
  });
  return transact([
    ...extra,
    write(keys.app(orgId, appId), false, 'revokeEpoch = :seen'),
    ...Array.from({ length: APP_SHARDS }, (_, n) => write(keys.appShard(orgId, appId, n), true)),
  ]);
}

/** One page of an app's user rows (all of them, active or not), strongly consistent. */
export async function pageUsersOfApp(orgId: string, appId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<string>> {
  const page = await queryPage({ partition: keys.appUser(orgId, appId, '').pk, prefix: 'USER#', limit, startKey, consistent: true });
  return { items: page.items.map((i) => i.userId as string), lastKey: page.lastKey };
}

/** A user's tokens for one app that `isTarget` picks, over every page of the index. */
export async function findTokens(orgId: string, appId: string, userId: string, isTarget: (token: Token) => boolean): Promise<Token[]> {
  const found: Token[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queryPage({ index: 'gsi1', partition: partitionOf('gsi1', indexKeys.userTokens(orgId, appId, userId)), startKey });
    found.push(...page.items.map((i) => toToken(i) as Token).filter(isTarget));
    startKey = page.lastKey;
  } while (startKey);
  return found;
}

/** After an app-wide revocation: zero and unlist a user row still counting under an older app epoch. */
export async function resetStaleUser(orgId: string, appId: string, userId: string, appEpoch: number): Promise<void> {
  const unlisted = removeClause(activeUserIndexAttributes, 'r');
  await conditionalUpdate({
    Key: keys.appUser(orgId, appId, userId),
    UpdateExpression: `SET activeTokenCount = :zero, countEpoch = :appEpoch REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: 'countEpoch < :appEpoch',
    ExpressionAttributeNames: unlisted.names,
    ExpressionAttributeValues: { ':zero': 0, ':appEpoch': appEpoch },
  });
}

/**
 * Sets a user's count to what its items say (and lists or unlists the row), only if the row is
 * still as read, and moves a shard by the same amount in the same transaction: every counted
 * change writes a user row and a shard together, so a wrong count is wrong on both.
 */
export async function repairUserCount(user: AppUser, appEpoch: number, stored: number, count: number): Promise<boolean> {
  const listed = setClause(count > 0 ? activeUserAttributes(user.orgId, user.appId, user.userId) : {}, 'l');
  const unlisted = removeClause(count > 0 ? [] : activeUserIndexAttributes, 'r');
  const userDelta = (count > 0 ? 1 : 0) - (stored > 0 ? 1 : 0);
  return transact([
    {
      Update: {
        TableName,
        Key: keys.appUser(user.orgId, user.appId, user.userId),
        UpdateExpression: [`SET ${['activeTokenCount = :count', 'countEpoch = :appEpoch', ...listed.parts].join(', ')}`, unlisted.parts.length ? `REMOVE ${unlisted.parts.join(', ')}` : ''].filter(Boolean).join(' '),
        ConditionExpression: 'activeTokenCount = :seen AND revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch',
        ExpressionAttributeNames: { ...listed.names, ...unlisted.names },
        ExpressionAttributeValues: { ':count': count, ':appEpoch': appEpoch, ':seen': user.activeTokenCount, ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ...listed.values },
      },
    },
    shardDecrement(user.orgId, user.appId, appEpoch, stored - count, -userDelta),
  ]);
}

/** Moves one shard's counters by the app's drift, only if that shard is still as read. */
export async function repairShardCounters(shard: AppShard, users: number, tokens: number): Promise<void> {
  await conditionalUpdate({
    Key: keys.appShard(shard.orgId, shard.appId, shard.shard),
    UpdateExpression: 'ADD activeTokenCount :tokens, userCount :users',
    ConditionExpression: 'revokeEpoch = :epoch AND activeTokenCount = :seenTokens AND userCount = :seenUsers',
    ExpressionAttributeValues: { ':tokens': tokens, ':users': users, ':epoch': shard.revokeEpoch, ':seenTokens': shard.activeTokenCount, ':seenUsers': shard.userCount },
  });
}
