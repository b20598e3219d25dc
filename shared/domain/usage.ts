import { appEpochNow, appExists } from '../db/app.js';
import { listActiveAppsOfUser, listActiveUsers, searchAppUsers, usageRowsOf, type UsageRow } from '../db/app-user.js';
import { matchesPrefix } from '../db/user-directory.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { isClientUser, type AppUser } from '../model.js';

import { heldTokens } from './rules.js';
import { cursors, listAnswer, searchPage, type SearchCursor } from './paging.js';
import type { UsageView } from '../api/usage.js';

const usageView = (u: AppUser, activeTokenCount: number): UsageView => ({
  userId: u.userId,
  userName: u.userName,
  firstUsedAt: u.firstUsedAt,
  lastUsedAt: u.lastUsedAt,
  useCount: u.useCount,
  activeTokenCount,
});

/*
 * The list names bind cursors to the list they came from. They name the lists' key design too:
 * a cursor handed out before the lists moved to epoch keys and links does not open (a 400).
 */

/**
 * The view of a row that holds active tokens under their app's current epoch, exactly as the counters say:
 * after an app-wide revocation every row is out at once (the user's apps may come back short
 * until the cleanup deletes the links, never wrong).
 */
const holdingView = ({ user, appEpoch }: UsageRow): UsageView | undefined => {
  const held = heldTokens(user, appEpoch);
  return held > 0 ? usageView(user, held) : undefined;
};

/** GET /v1/apps/{appId}/users (Usage by User): the users holding active tokens. */
export async function listUsersOfApp(orgId: string, appId: string, query: { sort: 'userId' | '-lastUsedAt'; q?: string; limit: number; cursor?: string }) {
  if (query.q !== undefined) return searchUsersOfApp(orgId, appId, { ...query, q: query.q });
  const list = `app-users/by-epoch\n${appId}\n${query.sort}`;
  const page = await listActiveUsers(orgId, appId, query.sort, query.limit, cursors.decode(orgId, list, query.cursor));
  // An empty first page is the only case where the app's existence is in question.
  if (page.items.length === 0 && !query.cursor && !(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
  // The app's own client is listed with its users (for the walks over them) but is no user: a page may come back one short.
  return listAnswer(orgId, list, page, (row) => (isClientUser(row.user.userId) ? undefined : holdingView(row)));
}

/**
 * Usage by User with `?q=`: the users whose id starts with `q` (by id), then those whose name does
 * (by name), case-insensitively, among those holding tokens under the app's current epoch: a shard
 * read for the epoch, a Query of each search at most (searchPage), one BatchGetItem of the rows.
 * A cursor of an older epoch (an app-wide revocation since) ends the list: its users are gone.
 */
async function searchUsersOfApp(orgId: string, appId: string, query: { sort: 'userId' | '-lastUsedAt'; q: string; limit: number; cursor?: string }) {
  if (query.sort !== 'userId') throw ValidationError.field('query.sort', 'must be userId with q: a search is by userId, then by name');
  const { q } = query;
  const list = `app-users/search\n${appId}\n${q}`;
  const start = cursors.decode(orgId, list, query.cursor) as (SearchCursor & { epoch: number }) | undefined;
  const appEpoch = await appEpochNow(orgId, appId);
  if (appEpoch === undefined) throw new NotFoundError(`App ${appId}`);
  if (start && start.epoch !== appEpoch) return { items: [], nextCursor: null };
  const page = await searchPage(start, Math.min(query.limit, 99), true, async (byName, startKey, wanted) => {
    const found = await searchAppUsers(orgId, appId, appEpoch, { byName, q, limit: wanted, startKey });
    const userIds = found.items.filter((userId) => !isClientUser(userId) && !(byName && matchesPrefix(userId, q)));
    return { items: userIds.map((userId) => ({ userId, byName })), next: found.lastKey ?? null };
  });
  const rows = await usageRowsOf(orgId, appId, appEpoch, page.items.map((u) => u.userId));
  const byName = new Set(page.items.filter((u) => u.byName).map((u) => u.userId));
  const items = rows.flatMap((row) => {
    const shown = holdingView(row);
    // A name longer than the search key holds is matched in full here.
    return shown && (!byName.has(shown.userId) || matchesPrefix(shown.userName, q)) ? [shown] : [];
  });
  return { items, nextCursor: page.next ? cursors.encode(orgId, list, { ...page.next, epoch: appEpoch }) : null };
}

/** GET /v1/users/{userId}/apps: the apps the user holds active tokens for, with the usage fields. */
export async function listAppsOfUser(orgId: string, userId: string, query: { limit: number; cursor?: string }) {
  const list = `user-apps/links\n${userId}`;
  const page = await listActiveAppsOfUser(orgId, userId, query.limit, cursors.decode(orgId, list, query.cursor));
  return listAnswer(orgId, list, page, (row) => {
    const shown = holdingView(row);
    return shown && { appId: row.user.appId, ...shown };
  });
}
