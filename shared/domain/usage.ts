import { appExists } from '../db/app.js';
import { listActiveAppsOfUser, listActiveUsers, type UsageRow } from '../db/app-user.js';
import { NotFoundError } from '../errors.js';
import { isClientUser, type AppUser } from '../model.js';

import { heldTokens } from './rules.js';
import { cursors, listAnswer } from './paging.js';
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
export async function listUsersOfApp(orgId: string, appId: string, query: { sort: 'userId' | '-lastUsedAt'; limit: number; cursor?: string }) {
  const list = `app-users/by-epoch\n${appId}\n${query.sort}`;
  const page = await listActiveUsers(orgId, appId, query.sort, query.limit, cursors.decode(orgId, list, query.cursor));
  // An empty first page is the only case where the app's existence is in question.
  if (page.items.length === 0 && !query.cursor && !(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
  // The app's own client is listed with its users (for the walks over them) but is no user: a page may come back one short.
  return listAnswer(orgId, list, page, (row) => (isClientUser(row.user.userId) ? undefined : holdingView(row)));
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
