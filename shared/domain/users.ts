import { appExists } from '../db/apps.js';
import { listActiveAppsOfUser, listActiveUsers } from '../db/users.js';
import { NotFoundError } from '../errors.js';
import type { AppUser } from './model.js';
import { cursors } from './paging.js';

const usageView = (u: AppUser) => ({
  userId: u.userId,
  userName: u.userName,
  firstUsedAt: u.firstUsedAt,
  lastUsedAt: u.lastUsedAt,
  useCount: u.useCount,
  activeTokenCount: u.activeTokenCount,
});

/** GET /v1/apps/{appId}/users (Usage by User): the users holding active tokens. */
export async function listUsersOfApp(orgId: string, appId: string, query: { sort: 'userId' | '-lastUsedAt'; limit: number; cursor?: string }) {
  const list = `app-users\n${appId}\n${query.sort}`;
  const page = await listActiveUsers(orgId, appId, query.sort, query.limit, cursors.decode(orgId, list, query.cursor));
  // An empty first page is the only case where the app's existence is in question.
  if (page.items.length === 0 && !query.cursor && !(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
  return { items: page.items.map(usageView), nextCursor: cursors.encode(orgId, list, page.lastKey) };
}

/** GET /v1/users/{userId}/apps: the apps the user holds active tokens for, with the usage fields. */
export async function listAppsOfUser(orgId: string, userId: string, query: { limit: number; cursor?: string }) {
  const list = `user-apps\n${userId}`;
  const page = await listActiveAppsOfUser(orgId, userId, query.limit, cursors.decode(orgId, list, query.cursor));
  return { items: page.items.map((u) => ({ appId: u.appId, ...usageView(u) })), nextCursor: cursors.encode(orgId, list, page.lastKey) };
}
