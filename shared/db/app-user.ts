/**
 * The app-user entity: one row per user of an app, in the app's partition, with the user's usage
 * (first and last use, uses), counted active tokens and revocation epochs. While the user holds
 * active tokens the row is listed by userId (gsi3), by last use (gsi4) and among the user's apps
 * (gsi5); the lists hold keys only, and the rows come in one BatchGetItem.
 */
import * as v from 'valibot';
import type { AppShard, AppUser, Token } from '../model.js';
import { chunk } from '../chunk.js';
import { appKeys, randomShard, toAppShard } from './app.js';
import { recordReader } from './checked.js';
import {
  batchGetConsistent, itemOf, keyOf, partitionOf, queryPage, removeClause, sameKey, setClause, type Key, type Page,
} from './requests.js';
import { orgPrefix, table } from './table.js';
import { putWrite, updateWrite, type Write } from './unit-of-work.js';

const { gsi3, gsi4, gsi5 } = table.indexes;

export const appUserKeys = {
  row: (orgId: string, appId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${appId}`, sk: `USER#${userId}` }),
  /** gsi3 (sparse): an app's users holding active tokens, by userId. */
  activeById: (orgId: string, appId: string, userId: string) => ({ [gsi3.partitionKey]: `${orgPrefix(orgId)}#APP#${appId}#ACTIVE-USERS`, [gsi3.sortKey]: `USER#${userId}` }),
  /** gsi4 (sparse): an app's users holding active tokens, by last use (never used sorts lowest). */
  activeByLastUse: (orgId: string, appId: string) => ({ [gsi4.partitionKey]: `${orgPrefix(orgId)}#APP#${appId}#ACTIVE-USERS` }),
  lastUseSort: (lastUsedAt: string | null, userId: string) => ({ [gsi4.sortKey]: `${lastUsedAt ?? '0'}#${userId}` }),
  /** gsi5 (sparse): a user's apps with active tokens, by appId. */
  activeAppsOfUser: (orgId: string, userId: string, appId: string) => ({ [gsi5.partitionKey]: `${orgPrefix(orgId)}#USER#${userId}#ACTIVE-APPS`, [gsi5.sortKey]: `APP#${appId}` }),
};

/** The index keys that list a user row as holding active tokens. */
const activeListings = (orgId: string, appId: string, userId: string) => ({
  ...appUserKeys.activeById(orgId, appId, userId),
  ...appUserKeys.activeByLastUse(orgId, appId),
  ...appUserKeys.activeAppsOfUser(orgId, userId, appId),
});
/** Attributes whose presence puts a user row in the active-user and user's-apps lists. */
const activeListAttributes = [gsi3.partitionKey, gsi3.sortKey, gsi4.partitionKey, gsi5.partitionKey, gsi5.sortKey] as const;

export const toAppUser = recordReader('AppUser', () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), activeTokenCount: v.number(), revokeEpoch: v.number(),
}), (u) => ({
  ...(u as unknown as AppUser), userName: (u.userName as string | undefined) ?? null, firstUsedAt: (u.firstUsedAt as string | undefined) ?? null,
  lastUsedAt: (u.lastUsedAt as string | undefined) ?? null, useCount: (u.useCount as number | undefined) ?? 0,
}));

/** A usage row with the revocation epoch its app has now (an app-wide revocation uncounts every row at once). */
export interface UsageRow {
  user: AppUser;
  appEpoch: number;
}

/**
 * The usage rows behind one page of a keys-only index, in the index's order, each with its app's
 * current epoch: one Query and one strongly consistent BatchGetItem of the rows and one shard of
 * each of their apps (at most 100 keys, so callers bound the page).
 */
async function usageRows(orgId: string, page: Page<Record<string, unknown>>): Promise<Page<UsageRow>> {
  const rowKeys = page.items.map(keyOf);
  const appIds = [...new Set(rowKeys.map((k) => k.pk.split('#APP#')[1] as string))];
  const shardKeys = new Map(appIds.map((appId) => [appId, appKeys.shard(orgId, appId, randomShard())]));
  const found = rowKeys.length ? await batchGetConsistent([...rowKeys, ...shardKeys.values()]) : [];
  const epochs = new Map(appIds.map((appId) => [appId, toAppShard(found.find(sameKey(shardKeys.get(appId) as Key)))?.revokeEpoch]));
  const rows = rowKeys.flatMap((key) => {
    const user = toAppUser(found.find(sameKey(key)));
    const appEpoch = user && epochs.get(user.appId);
    return user && appEpoch !== undefined ? [{ user, appEpoch }] : [];
  });
  return { items: rows, lastKey: page.lastKey };
}

/** An app's users listed as holding active tokens, by userId or by most recent use: at most 99 a page (with the app's shard, one BatchGetItem). */
export async function listActiveUsers(orgId: string, appId: string, sort: 'userId' | '-lastUsedAt', limit: number, startKey?: Record<string, unknown>): Promise<Page<UsageRow>> {
  const bounded = Math.min(limit, 99);
  const page = sort === 'userId'
    ? await queryPage({ index: 'gsi3', partition: partitionOf('gsi3', appUserKeys.activeById(orgId, appId, '')), limit: bounded, startKey })
    : await queryPage({ index: 'gsi4', partition: partitionOf('gsi4', appUserKeys.activeByLastUse(orgId, appId)), limit: bounded, startKey, descending: true });
  return usageRows(orgId, page);
}

/** The apps a user is listed as holding active tokens for (their usage rows), by appId: at most 50 a page (with a shard of each app, one BatchGetItem). */
export async function listActiveAppsOfUser(orgId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<UsageRow>> {
  const page = await queryPage({ index: 'gsi5', partition: partitionOf('gsi5', appUserKeys.activeAppsOfUser(orgId, userId, '')), limit: Math.min(limit, 50), startKey });
  return usageRows(orgId, page);
}

/** A random shard of the app and the named users' rows, strongly consistent (BatchGetItem per 99 users, in parallel). */
export async function getUsersOfApp(orgId: string, appId: string, userIds: string[]): Promise<{ shard: AppShard | undefined; users: Map<string, AppUser> }> {
  const shardKey = appKeys.shard(orgId, appId, randomShard());
  const results = await Promise.all(chunk(userIds, 99).map((ids, i) => batchGetConsistent([...(i === 0 ? [shardKey] : []), ...ids.map((u) => appUserKeys.row(orgId, appId, u))])));
  const items = results.flat();
  const users = new Map<string, AppUser>();
  for (const userId of userIds) {
    const user = toAppUser(items.find(sameKey(appUserKeys.row(orgId, appId, userId))));
    if (user) users.set(userId, user);
  }
  return { shard: toAppShard(items.find(sameKey(shardKey))), users };
}

/** One page of an app's user rows (all of them, active or not), strongly consistent. */
export async function pageUsersOfApp(orgId: string, appId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<string>> {
  const page = await queryPage({ partition: appUserKeys.row(orgId, appId, '').pk, prefix: 'USER#', limit, startKey, consistent: true });
  return { items: page.items.map((i) => i.userId as string), lastKey: page.lastKey };
}

/**
 * Registration's user write: counts the new token, pinned to the row as read (`held`: the tokens
 * it counts under the app's epoch now). A user's first token creates the row; a row whose count
 * is stale after an app-wide revocation starts again at 1; going from 0 to 1 lists the row.
 */
export function countNewToken(token: Token, before: AppUser | undefined, held: number, userName: string | undefined): Write {
  const { orgId, appId, userId, appEpoch } = token;
  const key = appUserKeys.row(orgId, appId, userId);
  const listed = activeListings(orgId, appId, userId);
  if (!before) {
    return putWrite(
      itemOf('AppUser', key, { orgId, appId, userId, userName, useCount: 0, activeTokenCount: 1, revokeEpoch: 0, countEpoch: appEpoch }, { ...listed, ...appUserKeys.lastUseSort(null, userId) }),
      { expression: 'attribute_not_exists(pk)' },
    );
  }
  const restart = before.countEpoch !== appEpoch;
  const set = setClause({ ...(userName ? { userName } : {}), ...(held === 0 ? listed : {}), ...(restart ? { activeTokenCount: 1, countEpoch: appEpoch } : {}) }, 's');
  return updateWrite({
    Key: key,
    UpdateExpression: [restart ? '' : 'ADD activeTokenCount :one', set.parts.length ? `SET ${set.parts.join(', ')}` : ''].filter(Boolean).join(' '),
    ConditionExpression: [restart ? 'countEpoch = :seenCountEpoch' : `countEpoch = :seenCountEpoch AND activeTokenCount ${held === 0 ? '=' : '>'} :zero`, 'revokeEpoch = :userEpoch'].join(' AND '),
    ...(set.parts.length ? { ExpressionAttributeNames: set.names } : {}),
    ExpressionAttributeValues: { ...(restart ? {} : { ':one': 1, ':zero': 0 }), ':seenCountEpoch': before.countEpoch, ':userEpoch': before.revokeEpoch, ...set.values },
  });
}

/** Uncounts `tokens` of the row as read; the last ones take it out of the active lists. */
export function uncount(user: AppUser, appEpoch: number, tokens: number): Write {
  const leavesIdle = user.activeTokenCount <= tokens;
  const unlisted = removeClause(leavesIdle ? activeListAttributes : [], 'r');
  return updateWrite({
    Key: appUserKeys.row(user.orgId, user.appId, user.userId),
    UpdateExpression: `ADD activeTokenCount :minus${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
    ConditionExpression: `activeTokenCount ${leavesIdle ? '=' : '>'} :count AND countEpoch = :appEpoch AND revokeEpoch = :userEpoch`,
    ...(unlisted.parts.length ? { ExpressionAttributeNames: unlisted.names } : {}),
    ExpressionAttributeValues: { ':minus': -tokens, ':count': tokens, ':appEpoch': appEpoch, ':userEpoch': user.revokeEpoch },
  });
}

/** Revokes every token of the user at once: the epoch goes up to `target`, the count to zero, the row out of the lists; pinned to the row as read. */
export function revokeUser(user: AppUser, target: number, appEpoch: number): Write {
  const unlisted = removeClause(activeListAttributes, 'r');
  return updateWrite({
    Key: appUserKeys.row(user.orgId, user.appId, user.userId),
    UpdateExpression: `SET revokeEpoch = :target, activeTokenCount = :zero, countEpoch = :appEpoch REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: 'revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount',
    ExpressionAttributeNames: unlisted.names,
    ExpressionAttributeValues: {
      ':target': target, ':zero': 0, ':appEpoch': appEpoch,
      ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount,
    },
  });
}

/** Sets the row's count to `count` (listing or unlisting it), only if it is still as read. */
export function setCount(user: AppUser, appEpoch: number, count: number): Write {
  const listed = setClause(count > 0 ? activeListings(user.orgId, user.appId, user.userId) : {}, 'l');
  const unlisted = removeClause(count > 0 ? [] : activeListAttributes, 'r');
  return updateWrite({
    Key: appUserKeys.row(user.orgId, user.appId, user.userId),
    UpdateExpression: [`SET ${['activeTokenCount = :count', 'countEpoch = :appEpoch', ...listed.parts].join(', ')}`, unlisted.parts.length ? `REMOVE ${unlisted.parts.join(', ')}` : ''].filter(Boolean).join(' '),
    ConditionExpression: 'activeTokenCount = :seen AND revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch',
    ExpressionAttributeNames: { ...listed.names, ...unlisted.names },
    ExpressionAttributeValues: { ':count': count, ':appEpoch': appEpoch, ':seen': user.activeTokenCount, ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ...listed.values },
  });
}

/** After an app-wide revocation: zeroes and unlists a user row still counting under an older app epoch (a write of a transaction; it fails once the row is reset or counts anew). */
export function resetStaleUserWrite(orgId: string, appId: string, userId: string, appEpoch: number): Write {
  const unlisted = removeClause(activeListAttributes, 'r');
  return updateWrite({
    Key: appUserKeys.row(orgId, appId, userId),
    UpdateExpression: `SET activeTokenCount = :zero, countEpoch = :appEpoch REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: 'countEpoch < :appEpoch',
    ExpressionAttributeNames: unlisted.names,
    ExpressionAttributeValues: { ':zero': 0, ':appEpoch': appEpoch },
  });
}

/** One use of the row's user: last use, first use, uses; `lastUseSort` moves it in the by-last-use list too. */
export function recordUseUpdate(token: Token, at: string, moveInLastUseOrder: boolean) {
  const lastUse = setClause(moveInLastUseOrder ? appUserKeys.lastUseSort(at, token.userId) : {}, 'l');
  return {
    Key: appUserKeys.row(token.orgId, token.appId, token.userId),
    UpdateExpression: `SET ${['lastUsedAt = :at', 'firstUsedAt = if_not_exists(firstUsedAt, :at)', ...lastUse.parts].join(', ')} ADD useCount :one`,
    ConditionExpression: 'attribute_exists(pk)',
    ...(lastUse.parts.length ? { ExpressionAttributeNames: lastUse.names } : {}),
    ExpressionAttributeValues: { ':at': at, ':one': 1, ...lastUse.values },
  };
}
