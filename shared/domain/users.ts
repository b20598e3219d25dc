/**
 * A user across the org's apps: denied new tokens (block), and (offboarding.ts) revoked everywhere.
 */
import { getRowsWithShards } from '../db/app-user.js';
import { getDirectoryEntries, matchesPrefix, pageDirectory, type DirectoryEntry } from '../db/user-directory.js';
import { recordEvent } from '../db/audit-event.js';
import { getOrgUser, getOrgUsers, listBlockedUsers, setBlockedWrite } from '../db/org-user.js';
import type { Item } from '../db/requests.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Actor } from '../model.js';
import type { OrgUserView } from '../api/users.js';
import { auditEvent } from './audit.js';
import { cursors, searchPage, type SearchCursor } from './paging.js';
import { heldTokens } from './rules.js';

/**
 * POST /v1/users/{userId}/block and …/unblock: registrations for the user are refused (409
 * user-blocked) in every app, or taken again. Pinned to the user's item as read, so it is exact
 * beside a concurrent offboarding; changing nothing writes nothing and audits nothing.
 */
export async function setUserBlocked(actor: Actor, userId: string, blocked: boolean, reason: string | undefined, now: number): Promise<{ userId: string; blocked: boolean }> {
  return retrying(async () => {
    const seen = await getOrgUser(actor.orgId, userId);
    if (seen.blocked === blocked) return { userId, blocked };
    const event = auditEvent(actor, blocked ? 'user.blocked' : 'user.unblocked', { userId, ...(reason ? { reason } : {}) }, now);
    if (!(await commit([setBlockedWrite(seen, blocked, iso(now)), recordEvent(event)]))) return RETRY;
    return { userId, blocked };
  }, () => new ConflictError('The user was changed concurrently too often; retry the request'));
}

/** Apps a page's users may hold tokens in, read in BatchGetItem calls of 100: a page stops before a user who would pass it (never before its first). */
const APPS_PER_PAGE = 300;
/** Blocked users a page lists. */
const BLOCKED_PER_PAGE = 25;

/**
 * One list's page of users (by id, or by name from `byName`), as many as `users` whose apps stay
 * within APPS_PER_PAGE. `skip` leaves users out (by name: those the list by id has). Where it
 * resumes (null: done).
 */
async function usersOfList(orgId: string, byName: boolean, q: string | undefined, startKey: Item | undefined, users: number, skip: (userId: string) => boolean): Promise<{ items: DirectoryEntry[]; next: Item | null }> {
  const page = await pageDirectory(orgId, { byName, q, limit: users, startKey });
  const items: DirectoryEntry[] = [];
  let apps = 0;
  for (const [i, entry] of page.items.entries()) {
    if (skip(entry.userId)) continue;
    if (items.length > 0 && apps + entry.appIds.length > APPS_PER_PAGE) return { items, next: page.resumeKeys[i - 1] as Item };
    items.push(entry);
    apps += entry.appIds.length;
  }
  return { items, next: (page.lastKey) ?? null };
}

/** What the org's lists show of users: the apps of theirs holding active tokens under the app's epoch, summed, from the rows (in the entries' order). */
async function summaries(orgId: string, entries: DirectoryEntry[], { keepIdle }: { keepIdle: boolean }): Promise<OrgUserView[]> {
  const pairs = entries.flatMap((entry) => entry.appIds.map((appId) => ({ userId: entry.userId, appId })));
  const [{ rows, appEpochs }, restricted] = await Promise.all([getRowsWithShards(orgId, pairs), getOrgUsers(orgId, entries.map((e) => e.userId))]);
  return entries.map(({ userId, userName, appIds }) => {
    const held = appIds.flatMap((appId) => {
      const row = rows.get(`${appId}\n${userId}`);
      const epoch = appEpochs.get(appId);
      const tokens = row && epoch !== undefined ? heldTokens(row, epoch) : 0;
      return row && tokens > 0 ? [{ row, tokens }] : [];
    });
    const lastUsedAt = held.map((h) => h.row.lastUsedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
    return {
      userId, userName, appCount: held.length, activeTokenCount: held.reduce((sum, h) => sum + h.tokens, 0), lastUsedAt, blocked: restricted.get(userId)?.blocked ?? false,
    };
  }).filter((u) => keepIdle || u.appCount > 0);
}

/**
 * GET /v1/users: the org's users holding active tokens, by id (case-insensitively). With `q`, the
 * users whose id starts with it (by id), then those whose (whole) name does (by name),
 * case-insensitively: a Query of each list at most (searchPage). Then the users' rows and their
 * apps' shards in BatchGetItem calls: what a page reads does not grow with the org. A page may come
 * back short (users whose links outlived their tokens are left out), with a cursor. `blocked`: the
 * blocked users instead, whether or not they hold tokens.
 */
export async function listOrgUsers(orgId: string, query: { q?: string; blocked?: boolean; limit: number; cursor?: string }): Promise<{ items: OrgUserView[]; nextCursor: string | null }> {
  const { q } = query;
  if (query.blocked) return listBlocked(orgId, query);
  const list = `org-users/search\n${q ?? ''}`;
  const start = cursors.decode(orgId, list, query.cursor) as SearchCursor | undefined;
  const idMatches = (userId: string) => q !== undefined && matchesPrefix(userId, q);
  const page = await searchPage(start, query.limit, q !== undefined, (byName, startKey, wanted) => usersOfList(orgId, byName, q, startKey, wanted, (userId) => byName && idMatches(userId)));
  return { items: await summaries(orgId, page.items, { keepIdle: false }), nextCursor: page.next ? cursors.encode(orgId, list, page.next) : null };
}

/** `?blocked=true`: a page of the blocked users by id, with what they hold (their directory entries, then their rows); `q` narrows it within the page. */
async function listBlocked(orgId: string, query: { q?: string; limit: number; cursor?: string }): Promise<{ items: OrgUserView[]; nextCursor: string | null }> {
  const list = 'org-users/blocked';
  const page = await listBlockedUsers(orgId, Math.min(query.limit, BLOCKED_PER_PAGE), cursors.decode(orgId, list, query.cursor));
  const known = await getDirectoryEntries(orgId, page.items.map((u) => u.userId));
  const entries = page.items.map((u) => known.get(u.userId) ?? { userId: u.userId, userName: null, appIds: [] });
  const { q } = query;
  const items = (await summaries(orgId, entries, { keepIdle: true })).filter((u) => !q || matchesPrefix(u.userId, q) || matchesPrefix(u.userName, q));
  return { items, nextCursor: cursors.encode(orgId, list, page.lastKey) };
}
