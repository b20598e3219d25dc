/**
 * A user across the org's apps: denied new tokens (block), and (offboarding.ts) revoked everywhere.
 */
import pMap from 'p-map';
import { getRowsWithShards, linksOfUser, matchesPrefix, pageOrgLinks, type UserAppLink } from '../db/app-user.js';
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

/**
 * Links read per user a page asks for: users hold tokens in a few apps; a user in more apps than
 * a Query holds is shown with the apps read (the page's only user) and goes on on the next page.
 */
const LINKS_PER_USER = 4;
const MAX_LINKS_PER_QUERY = 400;
/** Blocked users a page lists: their apps are read user by user. */
const BLOCKED_PER_PAGE = 25;

type OrgLink = UserAppLink & { userName: string | null };

/**
 * One list's page of links cut at whole users: at most `users` of them, and the last one dropped
 * when the page may stop inside its links (unless it is the only one). `skip` leaves users out
 * (by name: those the list by id has). Where it resumes (null: done).
 */
async function usersOfList(orgId: string, byName: boolean, q: string | undefined, startKey: Item | undefined, users: number, skip: (userId: string) => boolean): Promise<{ items: OrgLink[][]; next: Item | null }> {
  const page = await pageOrgLinks(orgId, { byName, q, limit: Math.min(users * LINKS_PER_USER, MAX_LINKS_PER_QUERY), startKey });
  const groups: { links: OrgLink[]; end: number }[] = [];
  page.items.forEach((link, i) => {
    if (skip(link.userId)) return;
    const last = groups.at(-1);
    if (last && last.links[0]?.userId === link.userId) Object.assign(last, { end: i }).links.push(link);
    else groups.push({ links: [link], end: i });
  });
  let kept = groups.slice(0, users);
  if (page.lastKey && kept.length === groups.length && kept.length > 1) kept = kept.slice(0, -1);
  const last = kept.at(-1);
  const done = !page.lastKey && kept.length === groups.length;
  return { items: kept.map((g) => g.links), next: done ? null : (last ? page.resumeKeys[last.end] as Item : (page.lastKey as Item)) };
}

/** What the org's lists show of a user: their apps holding active tokens under the app's epoch, summed, from the rows (in the links' order of users). */
async function summaries(orgId: string, links: UserAppLink[], { keepIdle }: { keepIdle: boolean }): Promise<OrgUserView[]> {
  const byUser = new Map<string, Map<string, UserAppLink>>();
  for (const link of links) byUser.set(link.userId, (byUser.get(link.userId) ?? new Map<string, UserAppLink>()).set(`${link.appId}#${link.countEpoch}`, link));
  const [{ rows, appEpochs }, restricted] = await Promise.all([getRowsWithShards(orgId, links), getOrgUsers(orgId, [...byUser.keys()])]);
  return [...byUser].map(([userId, userLinks]) => {
    const held = [...userLinks.values()].flatMap((link) => {
      const row = rows.get(`${link.appId}\n${userId}`);
      const epoch = appEpochs.get(link.appId);
      const tokens = row && epoch === link.countEpoch ? heldTokens(row, epoch) : 0;
      return row && tokens > 0 ? [{ row, tokens }] : [];
    });
    const latest = held.map((h) => h.row).sort((a, b) => (b.lastUsedAt ?? '').localeCompare(a.lastUsedAt ?? ''));
    return {
      userId, userName: latest.find((r) => r.userName)?.userName ?? null, appCount: held.length,
      activeTokenCount: held.reduce((sum, h) => sum + h.tokens, 0), lastUsedAt: latest[0]?.lastUsedAt ?? null, blocked: restricted.get(userId)?.blocked ?? false,
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
  return { items: await summaries(orgId, page.items.flat(), { keepIdle: false }), nextCursor: page.next ? cursors.encode(orgId, list, page.next) : null };
}

/** `?blocked=true`: a page of the blocked users by id, with what they hold (their apps read user by user); `q` narrows it within the page. */
async function listBlocked(orgId: string, query: { q?: string; limit: number; cursor?: string }): Promise<{ items: OrgUserView[]; nextCursor: string | null }> {
  const list = 'org-users/blocked';
  const page = await listBlockedUsers(orgId, Math.min(query.limit, BLOCKED_PER_PAGE), cursors.decode(orgId, list, query.cursor));
  const links = (await pMap(page.items, (u) => linksOfUser(orgId, u.userId), { concurrency: 8 })).flat();
  const shown = new Map((await summaries(orgId, links, { keepIdle: true })).map((u) => [u.userId, u]));
  const { q } = query;
  const items = page.items.map((u) => shown.get(u.userId) ?? { userId: u.userId, userName: null, appCount: 0, activeTokenCount: 0, lastUsedAt: null, blocked: true })
    .filter((u) => !q || matchesPrefix(u.userId, q) || matchesPrefix(u.userName, q));
  return { items, nextCursor: cursors.encode(orgId, list, page.lastKey) };
}
