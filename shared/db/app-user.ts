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
import pMap from 'p-map';
import * as v from 'valibot';
import type { AppShard, AppUser, Token } from '../model.js';
import { chunk } from '../chunk.js';
import { appKeys, randomShard, toAppShard } from './app.js';
import { recordReader } from './checked.js';
import {
  batchGetConsistent, conditionalUpdate, getItem, itemOf, keyOf, queryPage, removeClause, sameKey, setClause, type Item, type Key, type ListedPage, type Page, type Update, type WriteRequest,
} from './requests.js';
import { fromKeyPart, keyPart, orgPrefix, table } from './table.js';
import { directoryWrite, idSearchKey, matchesPrefix, nameSearchKey } from './user-directory.js';
import { checkWrite, commit, commitOrFailures, deleteWrite, putWrite, updateWrite, type Write } from './unit-of-work.js';
import { retrying, RETRY } from '../retry.js';

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
const appLinksPartition = (orgId: string, appId: string) => `${orgPrefix(orgId)}#APP#${keyPart(appId)}#USER-SEARCH`;
const appLinkNamesPartition = (orgId: string, appId: string) => `${orgPrefix(orgId)}#APP#${keyPart(appId)}#USER-NAME-SEARCH`;
/** The user a search key ends with (ids hold no `#`). */
const userOfSearchKey = (sortKey: unknown) => fromKeyPart(String(sortKey).slice(String(sortKey).lastIndexOf('#') + 1));

export const appUserKeys = {
  row: (orgId: string, appId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}`, sk: `USER#${keyPart(userId)}` }),
  /** gsi3 (sparse): an app's users holding active tokens, by the epoch they count under (newest first), then userId. */
  activeById: (orgId: string, appId: string, countEpoch: number, userId: string) => ({ [gsi3.partitionKey]: activeUsersPartition(orgId, appId), [gsi3.sortKey]: `${epochFirst(countEpoch)}#USER#${keyPart(userId)}` }),
  /** gsi4 (sparse): the same users by the epoch they count under, then last use (never used sorts lowest); read descending. */
  activeByLastUse: (orgId: string, appId: string, countEpoch: number, lastUsedAt: string | null, userId: string) => ({ [gsi4.partitionKey]: activeUsersPartition(orgId, appId), [gsi4.sortKey]: `${epochLast(countEpoch)}#${lastUsedAt ?? '0'}#${keyPart(userId)}` }),
  /** A user's apps: a link item per app and epoch the user holds tokens under, in the user's partition, by appId. */
  appOfUser: (orgId: string, userId: string, appId: string, countEpoch: number): Key => ({ pk: appsOfUserPartition(orgId, userId), sk: `APP#${keyPart(appId)}#${epochLast(countEpoch)}` }),
  /** The app's search (Usage by User's `q`), keys only: by epoch (newest first), then id (gsi3) or name (gsi4), case-insensitively. */
  appLinkById: (orgId: string, appId: string, countEpoch: number, userId: string) => ({
    [gsi3.partitionKey]: appLinksPartition(orgId, appId), [gsi3.sortKey]: `${epochFirst(countEpoch)}#${idSearchKey(userId)}#${keyPart(userId)}`,
  }),
  appLinkByName: (orgId: string, appId: string, countEpoch: number, userName: string, userId: string) => ({
    [gsi4.partitionKey]: appLinkNamesPartition(orgId, appId), [gsi4.sortKey]: `${epochFirst(countEpoch)}#${nameSearchKey(userName)}#${keyPart(userId)}`,
  }),
};

/** The index keys that list a user row as holding tokens counted under `countEpoch`. */
export const activeListings = (user: Pick<AppUser, 'orgId' | 'appId' | 'userId' | 'lastUsedAt'>, countEpoch: number) => ({
  ...appUserKeys.activeById(user.orgId, user.appId, countEpoch, user.userId),
  ...appUserKeys.activeByLastUse(user.orgId, user.appId, countEpoch, user.lastUsedAt, user.userId),
});
/** Attributes whose removal takes a user row out of the active-user lists (the last-use key stays: uses move it). */
const activeListAttributes = [gsi3.partitionKey, gsi3.sortKey, gsi4.partitionKey] as const;

/**
 * The link that lists an app among the user's apps (and the user in the app's search) while the
 * user's row counts tokens under `countEpoch`. Links are written only when a count starts or the
 * name changes, never by a use, so their indexes cost introspection nothing.
 */
export const userAppLinkItem = (orgId: string, appId: string, userId: string, countEpoch: number, userName: string | null) =>
  itemOf('UserAppLink', appUserKeys.appOfUser(orgId, userId, appId, countEpoch), { orgId, appId, userId, countEpoch, ...(userName ? { userName } : {}) }, searchKeys(orgId, appId, userId, countEpoch, userName));
const searchKeys = (orgId: string, appId: string, userId: string, countEpoch: number, userName: string | null) => ({
  ...appUserKeys.appLinkById(orgId, appId, countEpoch, userId), ...(userName ? appUserKeys.appLinkByName(orgId, appId, countEpoch, userName, userId) : {}),
});
export interface UserAppLink { userId: string; appId: string; countEpoch: number }
const toUserAppLink = /* @__PURE__ */ recordReader('UserAppLink', () => ({ userId: v.string(), appId: v.string(), countEpoch: v.number() }), (l): UserAppLink => ({ userId: l.userId as string, appId: l.appId as string, countEpoch: l.countEpoch as number }));
/**
 * The link, and the user's directory entry naming the app (shared/db/user-directory.ts). The entry
 * takes the name only from a registration that brings it (`named`: the latest wins); a name
 * copied from the row names it only if it has none.
 */
const putLink = (orgId: string, appId: string, userId: string, countEpoch: number, userName: string | null, { named = false } = {}): Write[] => [
  putWrite(userAppLinkItem(orgId, appId, userId, countEpoch, userName)), directoryWrite(orgId, userId, appId, userName, { unlessNamed: !named }),
];
const deleteLink = (orgId: string, appId: string, userId: string, countEpoch: number) => deleteWrite(appUserKeys.appOfUser(orgId, userId, appId, countEpoch));
/** A row counts tokens (under its own epoch, current or not) exactly while it is listed and linked. */
const isListed = (user: Pick<AppUser, 'activeTokenCount'>) => user.activeTokenCount > 0;
/** Pins a write that lists the row to the last use it was read with, which the by-last-use key is built from. */
const lastUsePinned = (user: Pick<AppUser, 'lastUsedAt'>) => (user.lastUsedAt === null
  ? { condition: 'attribute_not_exists(lastUsedAt)', values: {} }
  : { condition: 'lastUsedAt = :seenLastUse', values: { ':seenLastUse': user.lastUsedAt } });

/**
 * Pins a write that copies the row's name into its link to the name it was read with: an erasure
 * that removed it meanwhile fails the write, which reads again, so it never writes a name back.
 */
const namePinned = (user: Pick<AppUser, 'userName'>) => (user.userName === null
  ? { condition: 'attribute_not_exists(userName)', values: {} }
  : { condition: 'userName = :seenName', values: { ':seenName': user.userName } });

export const toAppUser = /* @__PURE__ */ recordReader('AppUser', () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), activeTokenCount: v.number(), revokeEpoch: v.number(),
}), (u) => ({
  ...(u as unknown as AppUser), userName: (u.userName as string | undefined) ?? null, firstUsedAt: (u.firstUsedAt as string | undefined) ?? null,
  lastOrgUserEpoch: (u.lastOrgUserEpoch as number | undefined) ?? 0,
  lastUsedAt: (u.lastUsedAt as string | undefined) ?? null, useCount: (u.useCount as number | undefined) ?? 0,
  revokedAt: (u.revokedAt as string | undefined) ?? null,
}));

/** Users a revocation names that the app has no row for (no token registered or learned yet): `revokeUser` creates their rows. */
const unseenUsers = new WeakSet<AppUser>();
export function unseenUser(orgId: string, appId: string, userId: string, appEpoch: number): AppUser {
  const user: AppUser = { orgId, appId, userId, userName: null, firstUsedAt: null, lastUsedAt: null, useCount: 0, activeTokenCount: 0, revokeEpoch: 0, countEpoch: appEpoch, revokedAt: null, lastOrgUserEpoch: 0 };
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
 * Every link of the user (the apps they hold tokens counted in, under some epoch), in appId order:
 * all pages, strongly consistent, so a registration that committed before is seen.
 */
export async function linksOfUser(orgId: string, userId: string): Promise<UserAppLink[]> {
  const links: UserAppLink[] = [];
  let startKey: Item | undefined;
  do {
    const page = await queryPage({ partition: appsOfUserPartition(orgId, userId), prefix: 'APP#', limit: 1000, startKey, consistent: true });
    links.push(...page.items.map((item) => toUserAppLink(item)).filter((l): l is UserAppLink => l !== undefined));
    startKey = page.lastKey;
  } while (startKey);
  return links;
}

/** Every app the user is linked to, deduplicated, in appId order. */
export async function linkedAppIds(orgId: string, userId: string): Promise<string[]> {
  return [...new Set((await linksOfUser(orgId, userId)).map((l) => l.appId))];
}

/**
 * The apps the user is linked to after app `after` ('' from the first), in appId order (the
 * links' key order), from one strongly consistent Query of at most `limit` links: deduplicated,
 * each app whole (its other links, of older epochs, are skipped by the next page, which starts
 * after it); `more` unless the links end here.
 */
export async function appsLinkedAfter(orgId: string, userId: string, after: string, limit: number): Promise<{ appIds: string[]; more: boolean }> {
  // No stored key sorts between an app's last link and U+FFFF after it (keys are ASCII).
  const page = await queryPage({ partition: appsOfUserPartition(orgId, userId), ...(after ? { between: [`APP#${keyPart(after)}#\uffff`, 'APP#\uffff'] as [string, string] } : { prefix: 'APP#' }), limit, consistent: true });
  const appIds = [...new Set(page.items.map((item) => toUserAppLink(item)?.appId).filter((appId): appId is string => appId !== undefined))];
  return { appIds, more: page.lastKey !== undefined };
}

/**
 * One page of an app's users whose id (`byName: false`) or name starts with `q`, case-insensitively,
 * among those counting tokens under `appEpoch` (the app's current one): keys only, so it answers
 * the user ids (matched in full) with where the search resumes after each.
 */
export async function searchAppUsers(orgId: string, appId: string, appEpoch: number, { byName, q, limit, startKey }: { byName: boolean; q: string; limit: number; startKey?: Item }): Promise<ListedPage<string>> {
  const page = await queryPage({
    index: byName ? 'gsi4' : 'gsi3', partition: byName ? appLinkNamesPartition(orgId, appId) : appLinksPartition(orgId, appId),
    prefix: `${epochFirst(appEpoch)}#${byName ? nameSearchKey(q) : idSearchKey(q)}`, limit, startKey,
  });
  const found = page.items.map((item, i) => ({ userId: userOfSearchKey(item[byName ? gsi4.sortKey : gsi3.sortKey]), resumeKey: page.resumeKeys[i] as Item }))
    .filter((u) => byName || matchesPrefix(u.userId, q));
  return { items: found.map((u) => u.userId), lastKey: page.lastKey, resumeKeys: found.map((u) => u.resumeKey) };
}

/** The usage rows of some of an app's users, in their order, each with the app's current epoch (one BatchGetItem of at most 99 rows and a shard). */
export async function usageRowsOf(orgId: string, appId: string, appEpoch: number, userIds: string[]): Promise<UsageRow[]> {
  const { rows } = await usageRows(orgId, userIds.map((userId) => ({ row: appUserKeys.row(orgId, appId, userId), appId, epoch: appEpoch, resumeKey: {} })));
  return rows;
}

/** The rows of some (user, app) pairs and a shard of each app, strongly consistent (BatchGetItem per 100 keys, in parallel). */
export async function getRowsWithShards(orgId: string, pairs: { userId: string; appId: string }[]): Promise<{ rows: Map<string, AppUser>; appEpochs: Map<string, number> }> {
  const appIds = [...new Set(pairs.map((p) => p.appId))];
  const shardKeys = appIds.map((appId) => appKeys.shard(orgId, appId, randomShard()));
  const rowKeys = [...new Map(pairs.map((p) => [`${p.appId}\n${p.userId}`, appUserKeys.row(orgId, p.appId, p.userId)])).values()];
  const found = (await Promise.all(chunk([...rowKeys, ...shardKeys], 100).map((keys) => batchGetConsistent(keys)))).flat();
  const rows = new Map<string, AppUser>();
  for (const item of found) {
    const user = item.entity === 'AppUser' ? toAppUser(item) : undefined;
    if (user) rows.set(`${user.appId}\n${user.userId}`, user);
  }
  const appEpochs = new Map(appIds.flatMap((appId, i) => {
    const shard = toAppShard(found.find(sameKey(shardKeys[i] as Key)));
    return shard ? [[appId, shard.revokeEpoch] as const] : [];
  }));
  return { rows, appEpochs };
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
export function countNewToken(token: Token, before: AppUser | undefined, held: number, userName: string | undefined, tokens = 1, dropsOffboarded = false): Write[] {
  const { orgId, appId, userId, appEpoch } = token;
  const key = appUserKeys.row(orgId, appId, userId);
  if (!before) {
    return [
      putWrite(
        itemOf('AppUser', key, { orgId, appId, userId, userName, useCount: 0, activeTokenCount: tokens, revokeEpoch: 0, countEpoch: appEpoch, lastOrgUserEpoch: token.orgUserEpoch }, activeListings({ orgId, appId, userId, lastUsedAt: null }, appEpoch)),
        { expression: 'attribute_not_exists(pk)' },
      ),
      ...putLink(orgId, appId, userId, appEpoch, userName ?? null, { named: userName !== undefined }),
    ];
  }
  const restart = before.countEpoch !== appEpoch;
  // The count starts again at the new tokens: under a new app epoch, or after an offboarding ended the ones counted.
  const recount = restart || dropsOffboarded;
  const lists = held === 0;
  // The org-wide watermark the newest token was registered under: an offboarding raises the row only while none is newer than it.
  const set = setClause({
    ...(userName ? { userName } : {}), ...(lists ? activeListings(before, appEpoch) : {}), ...(recount ? { activeTokenCount: tokens, countEpoch: appEpoch } : {}), lastOrgUserEpoch: token.orgUserEpoch,
    // Past the offboarded tokens (the new ones are registered under it): nothing counts those again.
    ...(dropsOffboarded ? { revokeEpoch: token.userEpoch } : {}),
  }, 's');
  const pinned = lastUsePinned(before);
  // Listed again, or by a new name: the link is written (again) with the name the searches find it by.
  const links = lists || (userName !== undefined && userName !== before.userName && !restart);
  const copiesName = links && !userName;
  return [
    updateWrite({
      Key: key,
      UpdateExpression: [recount ? '' : 'ADD activeTokenCount :tokens', `SET ${set.parts.join(', ')}`].filter(Boolean).join(' '),
      ConditionExpression: [
        recount ? 'countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount' : `countEpoch = :seenCountEpoch AND activeTokenCount ${lists ? '=' : '>'} :zero`,
        'revokeEpoch = :userEpoch', ...(lists ? [pinned.condition] : []), ...(copiesName ? [namePinned(before).condition] : []),
      ].join(' AND '),
      ExpressionAttributeNames: set.names,
      ExpressionAttributeValues: {
        ...(recount ? { ':seenCount': before.activeTokenCount } : { ':tokens': tokens, ':zero': 0 }), ':seenCountEpoch': before.countEpoch, ':userEpoch': before.revokeEpoch,
        ...(lists ? pinned.values : {}), ...(copiesName ? namePinned(before).values : {}), ...set.values,
      },
    }),
    ...(links ? putLink(orgId, appId, userId, appEpoch, userName ?? before.userName, { named: userName !== undefined }) : []),
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
      // Pinned to the newest token's org-wide watermark too: a registration that recounted the row
      // after an offboarding can leave its count as it was, and must still cancel this.
      ConditionExpression: `revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount AND ${user.lastOrgUserEpoch === 0 ? '(attribute_not_exists(lastOrgUserEpoch) OR lastOrgUserEpoch = :seenOrgEpoch)' : 'lastOrgUserEpoch = :seenOrgEpoch'}`,
      ExpressionAttributeNames: unlisted.names,
      ExpressionAttributeValues: {
        ':target': target, ':at': at, ':zero': 0, ':appEpoch': appEpoch,
        ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount, ':seenOrgEpoch': user.lastOrgUserEpoch,
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
      ConditionExpression: ['activeTokenCount = :seen AND revokeEpoch = :seenEpoch AND countEpoch = :seenCountEpoch', ...(count > 0 ? [pinned.condition, namePinned(user).condition] : [])].join(' AND '),
      ExpressionAttributeNames: { ...listed.names, ...unlisted.names },
      ExpressionAttributeValues: {
        ':count': count, ':appEpoch': appEpoch, ':seen': user.activeTokenCount, ':seenEpoch': user.revokeEpoch, ':seenCountEpoch': user.countEpoch,
        ...(count > 0 ? { ...pinned.values, ...namePinned(user).values } : {}), ...listed.values,
      },
    }),
    ...(isListed(user) && !keepsLink ? [deleteLink(user.orgId, user.appId, user.userId, user.countEpoch)] : []),
    ...(count > 0 ? putLink(user.orgId, user.appId, user.userId, appEpoch, user.userName) : []),
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

/**
 * Personal-data erasure: the user's name removed from their rows in these apps (a BatchGetItem
 * per 100, then an UpdateItem per row holding one). How many rows held one.
 */
export async function eraseNameInRows(orgId: string, userId: string, appIds: string[]): Promise<number> {
  const keys = appIds.map((appId) => appUserKeys.row(orgId, appId, userId));
  const rows = (await Promise.all(chunk(keys, 100).map((part) => batchGetConsistent(part)))).flat().filter((row) => typeof row.userName === 'string');
  await pMap(rows, (row) => conditionalUpdate({ Key: keyOf(row), UpdateExpression: 'REMOVE userName', ConditionExpression: 'attribute_exists(userName)' }), { concurrency: 8 });
  return rows.length;
}

/** Link index keys that hold the user's name (the searches by name). */
const nameSearchAttributes = [gsi4.partitionKey, gsi4.sortKey] as const;

/** The same in a page of the user's links: the name and the search keys made of it. Where the page stopped. */
export async function eraseNameInLinks(orgId: string, userId: string, limit: number, startKey?: Item): Promise<Item | undefined> {
  const page = await queryPage({ partition: appsOfUserPartition(orgId, userId), prefix: 'APP#', limit, startKey, consistent: true });
  const unnamed = removeClause(['userName', ...nameSearchAttributes], 'n');
  await pMap(page.items.filter((link) => typeof link.userName === 'string'), (link) => conditionalUpdate({
    Key: keyOf(link), UpdateExpression: `REMOVE ${unnamed.parts.join(', ')}`, ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: unnamed.names,
  }), { concurrency: 8 });
  return page.lastKey;
}

/** The same for users whose tokens of `countEpoch` an app-wide revocation's cleanup found, as BatchWriteItem requests. */
export const unlinkRequests = (orgId: string, appId: string, countEpoch: number, userIds: string[]): WriteRequest[] =>
  userIds.map((userId) => ({ DeleteRequest: { Key: appUserKeys.appOfUser(orgId, userId, appId, countEpoch) } }));

/**
 * Gives a link an older version wrote (without search keys) its keys in the app's search and the
 * user's directory entry, by the name of its row, in one transaction pinned to that name (an
 * erasure meanwhile makes it read again). True if it changed the link; a link that has its keys
 * already gets the directory entry only (adding an app again changes nothing).
 */
export async function listLegacyLink(link: Item): Promise<boolean> {
  const parsed = toUserAppLink(link);
  const orgId = link.orgId as string | undefined;
  if (!parsed || !orgId) return false;
  const rowKey = appUserKeys.row(orgId, parsed.appId, parsed.userId);
  return retrying(async () => {
    const row = toAppUser(await getItem(rowKey));
    const userName = row?.userName ?? null;
    const pinned = row && namePinned(row);
    const pins = pinned ? [checkWrite(rowKey, { expression: pinned.condition, ...(row.userName === null ? {} : { values: pinned.values }) })] : [];
    const entry = directoryWrite(orgId, parsed.userId, parsed.appId, userName, { unlessNamed: true });
    const keys = setClause({ ...searchKeys(orgId, parsed.appId, parsed.userId, parsed.countEpoch, userName), ...(userName ? { userName } : {}) }, 'l');
    const listed = updateWrite({
      Key: keyOf(link),
      UpdateExpression: `SET ${keys.parts.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#listed)',
      ExpressionAttributeNames: { ...keys.names, '#listed': gsi3.partitionKey },
      ExpressionAttributeValues: keys.values,
    });
    const failed = await commitOrFailures([entry, listed, ...pins]);
    if (failed === null) return true;
    if (failed.length === 1 && failed[0] === 1) return (await commit([entry, ...pins])) ? false : RETRY; // listed already (or gone)
    return RETRY; // the row's name changed, or a concurrent write to the entry
  }, () => new Error(`The link of ${parsed.userId} to ${parsed.appId} changed concurrently too often; run the migration again`));
}

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
      ConditionExpression: [
        `attribute_exists(${legacy.parts[0]})`, `${listed ? 'attribute_exists' : 'attribute_not_exists'}(#listed)`, 'countEpoch = :seenCountEpoch AND activeTokenCount = :seenCount', pinned.condition, namePinned(user).condition,
      ].join(' AND '),
      ExpressionAttributeNames: { ...keys.names, ...legacy.names, '#listed': gsi3.partitionKey },
      ExpressionAttributeValues: { ...keys.values, ':seenCountEpoch': user.countEpoch, ':seenCount': user.activeTokenCount, ...pinned.values, ...namePinned(user).values },
    }),
    ...(listed ? putLink(user.orgId, user.appId, user.userId, user.countEpoch, user.userName) : []),
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
