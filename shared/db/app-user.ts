/**
 * The app-user entity: one row per user of an app, in the app's partition, with the user's usage
 * (first and last use, uses), counted active tokens and revocation epochs. While the user holds
 * active tokens the row is listed by userId (gsi3) and by last use (gsi4), both keyed first by the
 * app epoch the row counts under, newest first: an app-wide revocation leaves its rows where they
 * are, and they sort after every row that counts under the new epoch, where a list stops reading.
 * The user's apps are link items in the user's partition, one per app and epoch, which the
 * app-wide revocation's cleanup deletes without reading them. The lists hold keys only; the rows
 * come in one BatchGetItem.
 */
import * as v from 'valibot';
import type { AppShard, AppUser, Token } from '../model.js';
import { chunk } from '../chunk.js';
import { appKeys, randomShard, toAppShard } from './app.js';
import { recordReader } from './checked.js';
import {
  batchGetConsistent, itemOf, keyOf, queryPage, removeClause, sameKey, setClause, type Item, type Key, type ListedPage, type Page, type Update, type WriteRequest,
} from './requests.js';
import { keyPart, orgPrefix, table } from './table.js';
import { deleteWrite, putWrite, updateWrite, type Write } from './unit-of-work.js';

const { gsi3, gsi4 } = table.indexes;

/** App epochs in sort keys: fixed width, so they sort as numbers; `epochFirst` sorts the newest first in ascending order. */
const EPOCH_DIGITS = 10;
const epochLast = (epoch: number) => String(epoch).padStart(EPOCH_DIGITS, '0');
const epochFirst = (epoch: number) => String(10 ** EPOCH_DIGITS - 1 - epoch).padStart(EPOCH_DIGITS, '0');
/** The epoch a listing's sort key starts with (NaN for a key of another shape, which no list trusts). */
const EPOCH_PREFIX = new RegExp(`^\\d{${EPOCH_DIGITS}}#`);
const epochOfLast = (sortKey: unknown) => (EPOCH_PREFIX.test(String(sortKey)) ? Number(String(sortKey).slice(0, EPOCH_DIGITS)) : Number.NaN);
const epochOfFirst = (sortKey: unknown) => 10 ** EPOCH_DIGITS - 1 - epochOfLast(sortKey);

const activeUsersPartition = (orgId: string, appId: string) => `${orgPrefix(orgId)}#APP#${keyPart(appId)}#ACTIVE-USERS`;
const appsOfUserPartition = (orgId: string, userId: string) => `${orgPrefix(orgId)}#USER#${keyPart(userId)}#APPS`;

export const appUserKeys = {
  row: (orgId: string, appId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}`, sk: `USER#${keyPart(userId)}` }),
  /** gsi3 (sparse): an app's users holding active tokens, by the epoch they count under (newest first), then userId. */
  activeById: (orgId: string, appId: string, countEpoch: number, userId: string) => ({ [gsi3.partitionKey]: activeUsersPartition(orgId, appId), [gsi3.sortKey]: `${epochFirst(countEpoch)}#USER#${keyPart(userId)}` }),
  /** gsi4 (sparse): the same users by the epoch they count under, then last use (never used sorts lowest); read descending. */
  activeByLastUse: (orgId: string, appId: string, countEpoch: number, lastUsedAt: string | null, userId: string) => ({ [gsi4.partitionKey]: activeUsersPartition(orgId, appId), [gsi4.sortKey]: `${epochLast(countEpoch)}#${lastUsedAt ?? '0'}#${keyPart(userId)}` }),
  /** A user's apps: a link item per app and epoch the user holds tokens under, in the user's partition, by appId. */
  appOfUser: (orgId: string, userId: string, appId: string, countEpoch: number): Key => ({ pk: appsOfUserPartition(orgId, userId), sk: `APP#${keyPart(appId)}#${epochLast(countEpoch)}` }),
};

/** The index keys that list a user row as holding tokens counted under `countEpoch`. */
export const activeListings = (user: Pick<AppUser, 'orgId' | 'appId' | 'userId' | 'lastUsedAt'>, countEpoch: number) => ({
  ...appUserKeys.activeById(user.orgId, user.appId, countEpoch, user.userId),
  ...appUserKeys.activeByLastUse(user.orgId, user.appId, countEpoch, user.lastUsedAt, user.userId),
});
/** Attributes whose removal takes a user row out of the active-user lists (the last-use key stays: uses move it). */
const activeListAttributes = [gsi3.partitionKey, gsi3.sortKey, gsi4.partitionKey] as const;

/** The link that lists an app among the user's apps while the user's row counts tokens under `countEpoch`. */
export const userAppLinkItem = (orgId: string, appId: string, userId: string, countEpoch: number) =>
  itemOf('UserAppLink', appUserKeys.appOfUser(orgId, userId, appId, countEpoch), { orgId, appId, userId, countEpoch });
const toUserAppLink = /* @__PURE__ */ recordReader('UserAppLink', () => ({ appId: v.string(), countEpoch: v.number() }), (l) => ({ appId: l.appId as string, countEpoch: l.countEpoch as number }));
const putLink = (orgId: string, appId: string, userId: string, countEpoch: number) => putWrite(userAppLinkItem(orgId, appId, userId, countEpoch));
const deleteLink = (orgId: string, appId: string, userId: string, countEpoch: number) => deleteWrite(appUserKeys.appOfUser(orgId, userId, appId, countEpoch));
/** A row counts tokens (under its own epoch, current or not) exactly while it is listed and linked. */
const isListed = (user: Pick<AppUser, 'activeTokenCount'>) => user.activeTokenCount > 0;
/** Pins a write that lists the row to the last use it was read with, which the by-last-use key is built from. */
const lastUsePinned = (user: Pick<AppUser, 'lastUsedAt'>) => (user.lastUsedAt === null
  ? { condition: 'attribute_not_exists(lastUsedAt)', values: {} }
  : { condition: 'lastUsedAt = :seenLastUse', values: { ':seenLastUse': user.lastUsedAt } });

export const toAppUser = /* @__PURE__ */ recordReader('AppUser', () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), activeTokenCount: v.number(), revokeEpoch: v.number(),
}), (u) => ({
  ...(u as unknown as AppUser), userName: (u.userName as string | undefined) ?? null, firstUsedAt: (u.firstUsedAt as string | undefined) ?? null,
  lastUsedAt: (u.lastUsedAt as string | undefined) ?? null, useCount: (u.useCount as number | undefined) ?? 0,
  revokedAt: (u.revokedAt as string | undefined) ?? null,
}));

/** Users a revocation names that the app has no row for (no token registered or learned yet): `revokeUser` creates their rows. */
const unseenUsers = new WeakSet<AppUser>();
export function unseenUser(orgId: string, appId: string, userId: string, appEpoch: number): AppUser {
  const user: AppUser = { orgId, appId, userId, userName: null, firstUsedAt: null, lastUsedAt: null, useCount: 0, activeTokenCount: 0, revokeEpoch: 0, countEpoch: appEpoch, revokedAt: null };
  unseenUsers.add(user);
  return user;
}

/** A usage row with the revocation epoch its app has now (an app-wide revocation uncounts every row at once). */
export interface UsageRow {
  user: AppUser;
  appEpoch: number;
}

/** A listing met in an index or link page: the row it points to and the epoch it was written under. */
interface Listing {
  row: Key;
  appId: string;
  epoch: number;
  /** Where the list resumes after this listing. */
  resumeKey: Item;
}

/**
 * The usage rows behind one page of listings, in the page's order, each with its app's current
 * epoch: one strongly consistent BatchGetItem of the rows and one shard of each of their apps (at
 * most 100 keys, so callers bound the page). Only listings written under their app's current epoch
 * count; `ended` says one was older (a list sorted newest epoch first has nothing current after it).
 */
async function usageRows(orgId: string, listings: Listing[]): Promise<{ rows: UsageRow[]; resumeKeys: Item[]; ended: boolean }> {
  const appIds = [...new Set(listings.map((l) => l.appId))];
  const shardKeys = new Map(appIds.map((appId) => [appId, appKeys.shard(orgId, appId, randomShard())]));
  const rowKeys = [...new Map(listings.map((l) => [`${l.row.pk}\n${l.row.sk}`, l.row])).values()];
  const found = rowKeys.length ? await batchGetConsistent([...rowKeys, ...shardKeys.values()]) : [];
  const epochs = new Map(appIds.map((appId) => [appId, toAppShard(found.find(sameKey(shardKeys.get(appId) as Key)))?.revokeEpoch]));
  const current = listings.filter((l) => l.epoch === epochs.get(l.appId));
  const listed = current.flatMap((l) => {
    const user = toAppUser(found.find(sameKey(l.row)));
    return user ? [{ row: { user, appEpoch: l.epoch }, resumeKey: l.resumeKey }] : [];
  });
  return { rows: listed.map((l) => l.row), resumeKeys: listed.map((l) => l.resumeKey), ended: listings.some((l) => !(l.epoch >= (epochs.get(l.appId) ?? Number.POSITIVE_INFINITY))) };
}

/**
 * An app's users listed as holding active tokens, by userId or by most recent use: at most 99 a
 * page (with the app's shard, one BatchGetItem). The list ends at the first row listed under an
 * older epoch: those rows lost their tokens to an app-wide revocation and sort after the rest.
 */
export async function listActiveUsers(orgId: string, appId: string, sort: 'userId' | '-lastUsedAt', limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<UsageRow>> {
  const partition = activeUsersPartition(orgId, appId);
  const bounded = Math.min(limit, 99);
  const page = sort === 'userId'
    ? await queryPage({ index: 'gsi3', partition, limit: bounded, startKey })
    : await queryPage({ index: 'gsi4', partition, limit: bounded, startKey, descending: true });
  const epochOf = (item: Item) => (sort === 'userId' ? epochOfFirst(item[gsi3.sortKey]) : epochOfLast(item[gsi4.sortKey]));
  const { rows, resumeKeys, ended } = await usageRows(orgId, page.items.map((item, i) => ({ row: keyOf(item), appId, epoch: epochOf(item), resumeKey: page.resumeKeys[i] as Item })));
  return { items: rows, lastKey: ended ? undefined : page.lastKey, resumeKeys };
}

/** The apps a user is listed as holding active tokens for (their usage rows), by appId: at most 50 a page (with a shard of each app, one BatchGetItem). */
export async function listActiveAppsOfUser(orgId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<UsageRow>> {
  const page = await queryPage({ partition: appsOfUserPartition(orgId, userId), prefix: 'APP#', limit: Math.min(limit, 50), startKey });
  const links = page.items.map((item, i) => {
    const { appId, countEpoch } = toUserAppLink(item) as { appId: string; countEpoch: number };
    return { row: appUserKeys.row(orgId, appId, userId), appId, epoch: countEpoch, resumeKey: page.resumeKeys[i] as Item };
  });
  const { rows, resumeKeys } = await usageRows(orgId, links);
  return { items: rows, lastKey: page.lastKey, resumeKeys };
}

/**
 * Every app the user is linked to (holds tokens counted in, under some epoch), deduplicated, in
 * appId order: all pages, strongly consistent, so a registration that committed before is seen.
 */
export async function linkedAppIds(orgId: string, userId: string): Promise<string[]> {
  const appIds = new Set<string>();
  let startKey: Item | undefined;
  do {
    const page = await queryPage({ partition: appsOfUserPartition(orgId, userId), prefix: 'APP#', limit: 1000, startKey, consistent: true });
    for (const item of page.items) {
      const link = toUserAppLink(item);
      if (link) appIds.add(link.appId);
    }
    startKey = page.lastKey;
  } while (startKey);
  return [...appIds];
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
 * Registration's user writes: counts `tokens` new tokens (a rotation's net: what it adds less the
 * refresh token it retires, possibly 0), pinned to the row as read (`held`: the tokens it counts
 * under the app's epoch now). A user's first token creates the row; a row whose count is stale
 * after an app-wide revocation starts again under the new epoch; going from 0 lists the row under
 * the app's epoch and links it to the user's apps.
 */
export function countNewToken(token: Token, before: AppUser | undefined, held: number, userName: string | undefined, tokens = 1): Write[] {
  const { orgId, appId, userId, appEpoch } = token;
  const key = appUserKeys.row(orgId, appId, userId);
  if (!before) {
    return [
      putWrite(
        itemOf('AppUser', key, { orgId, appId, userId, userName, useCount: 0, activeTokenCount: tokens, revokeEpoch: 0, countEpoch: appEpoch }, activeListings({ orgId, appId, userId, lastUsedAt: null }, appEpoch)),
        { expression: 'attribute_not_exists(pk)' },
      ),
      putLink(orgId, appId, userId, appEpoch),
    ];
  }
  const restart = before.countEpoch !== appEpoch;
  const lists = held === 0;
  const set = setClause({ ...(userName ? { userName } : {}), ...(lists ? activeListings(before, appEpoch) : {}), ...(restart ? { activeTokenCount: tokens, countEpoch: appEpoch } : {}) }, 's');
  const pinned = lastUsePinned(before);
  return [
    updateWrite({
      Key: key,
      UpdateExpression: [restart ? '' : 'ADD activeTokenCount :tokens', set.parts.length ? `SET ${set.parts.join(', ')}` : ''].filter(Boolean).join(' '),
      ConditionExpression: [
        restart ? 'countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount' : `countEpoch = :seenCountEpoch AND activeTokenCount ${lists ? '=' : '>'} :zero`,
        'revokeEpoch = :userEpoch', ...(lists ? [pinned.condition] : []),
      ].join(' AND '),
      ...(set.parts.length ? { ExpressionAttributeNames: set.names } : {}),
      ExpressionAttributeValues: {
        ...(restart ? { ':seenCount': before.activeTokenCount } : { ':tokens': tokens, ':zero': 0 }), ':seenCountEpoch': before.countEpoch, ':userEpoch': before.revokeEpoch,
        ...(lists ? pinned.values : {}), ...set.values,
      },
    }),
    ...(lists ? [putLink(orgId, appId, userId, appEpoch)] : []),
    // The link of the older epoch, if the cleanup of its revocation has not deleted it yet.
    ...(restart && isListed(before) ? [deleteLink(orgId, appId, userId, before.countEpoch)] : []),
  ];
}

/** Uncounts `tokens` of the row as read; the last ones take it out of the active lists and the user's apps. */
export function uncount(user: AppUser, appEpoch: number, tokens: number): Write[] {
  const leavesIdle = user.activeTokenCount <= tokens;
  const unlisted = removeClause(leavesIdle ? activeListAttributes : [], 'r');
  return [
    updateWrite({
      Key: appUserKeys.row(user.orgId, user.appId, user.userId),
      UpdateExpression: `ADD activeTokenCount :minus${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
      ConditionExpression: `activeTokenCount ${leavesIdle ? '=' : '>'} :count AND countEpoch = :appEpoch AND revokeEpoch = :userEpoch`,
      ...(unlisted.parts.length ? { ExpressionAttributeNames: unlisted.names } : {}),
      ExpressionAttributeValues: { ':minus': -tokens, ':count': tokens, ':appEpoch': appEpoch, ':userEpoch': user.revokeEpoch },
    }),
    ...(leavesIdle ? [deleteLink(user.orgId, user.appId, user.userId, appEpoch)] : []),
  ];
}

/** Writes per user of `revokeUser`, for callers that size transactions. */
export const REVOKE_USER_WRITES = 2;

/**
 * Revokes every token of the user at once: the epoch goes up to `target` (at `at`), the count to
 * zero, the row out of the lists; pinned to the row as read. A user not seen yet gets a row that
 * holds only the watermark (created only if there still is none), so that a token learned later
 * but issued before `at` is revoked too.
 */
export function revokeUser(user: AppUser, target: number, appEpoch: number, at: string): Write[] {
  const key = appUserKeys.row(user.orgId, user.appId, user.userId);
  if (unseenUsers.has(user)) {
    const { orgId, appId, userId } = user;
    return [putWrite(itemOf('AppUser', key, { orgId, appId, userId, useCount: 0, activeTokenCount: 0, revokeEpoch: target, countEpoch: appEpoch, revokedAt: at }), { expression: 'attribute_not_exists(pk)' })];
  }
  const unlisted = removeClause(activeListAttributes, 'r');
  return [
    updateWrite({
      Key: key,
      UpdateExpression: `SET revokeEpoch = :target, revokedAt = :at, activeTokenCount = :zero, countEpoch = :appEpoch REMOVE ${unlisted.parts.join(', ')}`,
      ConditionExpression: 'revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount',
      ExpressionAttributeNames: unlisted.names,
      ExpressionAttributeValues: {
        ':target': target, ':at': at, ':zero': 0, ':appEpoch': appEpoch,
        ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount,
      },
    }),
    ...(isListed(user) ? [deleteLink(user.orgId, user.appId, user.userId, user.countEpoch)] : []),
  ];
}

/** Sets the row's count to `count` under the app's epoch (listing and linking it, or not), only if it is still as read. */
export function setCount(user: AppUser, appEpoch: number, count: number): Write[] {
  const listed = setClause(count > 0 ? activeListings(user, appEpoch) : {}, 'l');
  const unlisted = removeClause(count > 0 ? [] : activeListAttributes, 'r');
  const pinned = lastUsePinned(user);
  const keepsLink = count > 0 && user.countEpoch === appEpoch;
  return [
    updateWrite({
      Key: appUserKeys.row(user.orgId, user.appId, user.userId),
      UpdateExpression: [`SET ${['activeTokenCount = :count', 'countEpoch = :appEpoch', ...listed.parts].join(', ')}`, unlisted.parts.length ? `REMOVE ${unlisted.parts.join(', ')}` : ''].filter(Boolean).join(' '),
      ConditionExpression: ['activeTokenCount = :seen AND revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch', ...(count > 0 ? [pinned.condition] : [])].join(' AND '),
      ExpressionAttributeNames: { ...listed.names, ...unlisted.names },
      ExpressionAttributeValues: {
        ':count': count, ':appEpoch': appEpoch, ':seen': user.activeTokenCount, ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch,
        ...(count > 0 ? pinned.values : {}), ...listed.values,
      },
    }),
    ...(isListed(user) && !keepsLink ? [deleteLink(user.orgId, user.appId, user.userId, user.countEpoch)] : []),
    ...(count > 0 ? [putLink(user.orgId, user.appId, user.userId, appEpoch)] : []),
  ];
}

/**
 * After an app-wide revocation: takes a row still counting under an older epoch out of the user's
 * apps (its link, deleted without a condition: an older epoch's link is never current again). Its
 * active-user listings stay, sorted after every current row, where no list reads.
 */
export function unlinkStaleUser(user: AppUser, appEpoch: number): Write[] {
  return user.countEpoch < appEpoch && isListed(user) ? [deleteLink(user.orgId, user.appId, user.userId, user.countEpoch)] : [];
}

/** The same for users whose tokens of `countEpoch` an app-wide revocation's cleanup found, as BatchWriteItem requests. */
export const unlinkRequests = (orgId: string, appId: string, countEpoch: number, userIds: string[]): WriteRequest[] =>
  userIds.map((userId) => ({ DeleteRequest: { Key: appUserKeys.appOfUser(orgId, userId, appId, countEpoch) } }));

/** The user's-apps index keys an older version put on listed user rows (that index is gone; `npm run migrate` moves the rows). */
export const LEGACY_USER_APPS_INDEX = ['gsi5pk', 'gsi5sk'] as const;

/**
 * The writes that move a row an older version listed to the epoch-keyed lists, pinned to the row
 * as read: its active-user keys under the epoch it counts under and its link, or (a row unlisted
 * since) only the old keys removed. Undefined when the row needs nothing.
 */
export function relistLegacyRow(item: Item): Write[] | undefined {
  const user = toAppUser(item);
  if (!user || item[LEGACY_USER_APPS_INDEX[0]] === undefined) return undefined;
  const listed = item[gsi3.partitionKey] !== undefined;
  const keys = setClause(listed ? activeListings(user, user.countEpoch) : {}, 'l');
  const legacy = removeClause(LEGACY_USER_APPS_INDEX, 'x');
  const pinned = lastUsePinned(user);
  return [
    updateWrite({
      Key: keyOf(item),
      UpdateExpression: `${keys.parts.length ? `SET ${keys.parts.join(', ')} ` : ''}REMOVE ${legacy.parts.join(', ')}`,
      ConditionExpression: [`attribute_exists(${legacy.parts[0]})`, `${listed ? 'attribute_exists' : 'attribute_not_exists'}(#listed)`, 'countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount', pinned.condition].join(' AND '),
      ExpressionAttributeNames: { ...keys.names, ...legacy.names, '#listed': gsi3.partitionKey },
      ExpressionAttributeValues: { ...keys.values, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount, ...pinned.values },
    }),
    ...(listed ? [putLink(user.orgId, user.appId, user.userId, user.countEpoch)] : []),
  ];
}

/**
 * One use of the row's user: last use, first use, uses. `moveInLastUseOrder` moves it in the
 * by-last-use list too, under the epoch of the token used, only if the row still counts under
 * that epoch (a use that raced with an app-wide revocation must not sort a row that counts anew
 * among the stale ones).
 */
export function recordUseUpdate(token: Token, at: string, moveInLastUseOrder: boolean): Update {
  const lastUse = setClause(moveInLastUseOrder ? { [gsi4.sortKey]: appUserKeys.activeByLastUse(token.orgId, token.appId, token.appEpoch, at, token.userId)[gsi4.sortKey] } : {}, 'l');
  return {
    Key: appUserKeys.row(token.orgId, token.appId, token.userId),
    UpdateExpression: `SET ${['lastUsedAt = :at', 'firstUsedAt = if_not_exists(firstUsedAt, :at)', ...lastUse.parts].join(', ')} ADD useCount :one`,
    ConditionExpression: `attribute_exists(pk)${moveInLastUseOrder ? ' AND countEpoch = :epoch' : ''}`,
    ...(lastUse.parts.length ? { ExpressionAttributeNames: lastUse.names } : {}),
    ExpressionAttributeValues: { ':at': at, ':one': 1, ...(moveInLastUseOrder ? { ':epoch': token.appEpoch } : {}), ...lastUse.values },
  };
}
