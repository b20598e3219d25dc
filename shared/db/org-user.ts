/**
 * The org-user entity: what holds for a user in every app of the org. One small item per user
 * who was ever blocked or offboarded (none for the others, who read as neither): whether they
 * are denied new tokens (`blocked`, and when: `blockedWindows`, for tokens of trusted issuers first
 * seen later), and the org-wide "revoked before" watermark an offboarding raises (`offboardEpoch`,
 * compared with the one each token was registered under, and `revokedAt` for tokens of trusted
 * issuers first seen later). Registration, introspection and a learned
 * token's first sight read it beside the app-user row (no round trip of its own) and pin it in
 * their transactions, so a block or an offboarding that commits first wins. Blocked users are
 * listed by id (gsi2, sparse) whether or not they hold tokens.
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { batchGetConsistent, getItem, partitionOf, sameKey, queryPage, removeClause, resumeKeyOf, type Item, type Key, type ListedPage } from './requests.js';
import { entityAttribute, keyPart, orgPrefix, table } from './table.js';
import { checkWrite, updateWrite, type Write } from './unit-of-work.js';

const { gsi2 } = table.indexes;

export interface OrgUser {
  orgId: string;
  userId: string;
  /** Denied new tokens in every app (POST /v1/users/{userId}/block) until unblocked. */
  blocked: boolean;
  blockedAt: string | null;
  /**
   * When the user was blocked, the last MAX_BLOCK_WINDOWS times (`to` null while blocked): a
   * token of a trusted issuer issued in one is never learned (contract section 9's time rule);
   * one issued before or after is.
   */
  blockedWindows: BlockWindow[];
  /** Raised by each offboarding: a token registered under a lower one is revoked, in every app. */
  offboardEpoch: number;
  /** The last offboarding: a learned token issued before it is revoked (contract section 9's time rule). */
  revokedAt: string | null;
  /** One more at every change of the item (what a learned token's first sight pins). */
  version: number;
}
export interface BlockWindow { from: string; to: string | null }
/** Blocks of one user remembered for the time rule (blocks are rare; the oldest go first). */
export const MAX_BLOCK_WINDOWS = 20;
const blockWindowSchema = v.array(v.object({ from: v.string(), to: v.nullable(v.string()) }));

export const orgUserKeys = {
  user: (orgId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#USER#${keyPart(userId)}`, sk: 'USER' }),
  /** gsi2 (sparse): the org's blocked users, by id. */
  blocked: (orgId: string, userId: string) => ({ [gsi2.partitionKey]: `${orgPrefix(orgId)}#BLOCKED-USERS`, [gsi2.sortKey]: `USER#${keyPart(userId)}` }),
};

export const toOrgUser = /* @__PURE__ */ recordReader('OrgUser', () => ({ orgId: v.string(), userId: v.string() }), (u): OrgUser => ({
  orgId: u.orgId as string, userId: u.userId as string, blocked: u.blocked === true, blockedAt: (u.blockedAt as string | undefined) ?? null,
  // An item blocked before windows were kept holds its open window in `blockedAt`.
  blockedWindows: v.is(blockWindowSchema, u.blockedWindows) ? u.blockedWindows : u.blocked === true && typeof u.blockedAt === 'string' ? [{ from: u.blockedAt, to: null }] : [],
  version: (u.version as number | undefined) ?? 0,
  offboardEpoch: (u.offboardEpoch as number | undefined) ?? 0, revokedAt: (u.revokedAt as string | undefined) ?? null,
}));

/** A user with no item: never blocked or offboarded. */
export const neverRestricted = (orgId: string, userId: string): OrgUser => ({ orgId, userId, blocked: false, blockedAt: null, blockedWindows: [], offboardEpoch: 0, revokedAt: null, version: 0 });

export async function getOrgUser(orgId: string, userId: string): Promise<OrgUser> {
  return toOrgUser(await getItem(orgUserKeys.user(orgId, userId))) ?? neverRestricted(orgId, userId);
}

/** Some users' items, strongly consistent (a user with none reads as never restricted). */
export async function getOrgUsers(orgId: string, userIds: string[]): Promise<Map<string, OrgUser>> {
  const keys = userIds.map((userId) => orgUserKeys.user(orgId, userId));
  const found = keys.length ? await batchGetConsistent(keys) : [];
  return new Map(userIds.map((userId, i) => [userId, toOrgUser(found.find(sameKey(keys[i] as Key))) ?? neverRestricted(orgId, userId)]));
}

/** In a registration's (or first sight's) transaction: the user is still neither blocked nor offboarded since `seen` was read. */
export function orgUserUnchangedCheck(seen: OrgUser): Write {
  return checkWrite(orgUserKeys.user(seen.orgId, seen.userId), {
    expression: 'attribute_not_exists(pk) OR (offboardEpoch = :epoch AND blocked = :no)',
    values: { ':epoch': seen.offboardEpoch, ':no': false },
  });
}

/** In a learned token's first sight: the user is still as `seen` (not offboarded, blocked or unblocked since). */
export function orgUserSameCheck(seen: OrgUser): Write {
  return checkWrite(orgUserKeys.user(seen.orgId, seen.userId), seen.version === 0
    ? { expression: 'attribute_not_exists(pk) OR (attribute_not_exists(version) AND offboardEpoch = :epoch AND blocked = :blocked)', values: { ':epoch': seen.offboardEpoch, ':blocked': seen.blocked } }
    : { expression: 'version = :version', values: { ':version': seen.version } });
}

/** The item's identity and fields, created if missing, pinned to `seen` (the epoch and block state read). */
function changeWrite(seen: OrgUser, set: Record<string, unknown>, { listBlocked }: { listBlocked: boolean }): Write {
  const fields: Item = { [entityAttribute]: 'OrgUser', orgId: seen.orgId, userId: seen.userId, ...set, version: seen.version + 1, ...(listBlocked ? orgUserKeys.blocked(seen.orgId, seen.userId) : {}) };
  const names = Object.fromEntries(Object.keys(fields).map((k, i) => [`#f${i}`, k]));
  const values = Object.fromEntries(Object.values(fields).map((value, i) => [`:f${i}`, value]));
  const unlisted = listBlocked ? undefined : removeClause([gsi2.partitionKey, gsi2.sortKey], 'r');
  return updateWrite({
    Key: orgUserKeys.user(seen.orgId, seen.userId),
    UpdateExpression: `SET ${Object.keys(names).map((n, i) => `${n} = :f${i}`).join(', ')}${unlisted ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
    ConditionExpression: seen.version === 0
      ? 'attribute_not_exists(pk) OR (attribute_not_exists(#version) AND offboardEpoch = :seenEpoch AND blocked = :seenBlocked)'
      : '#version = :seenVersion',
    ExpressionAttributeNames: { ...names, ...unlisted?.names, '#version': 'version' },
    ExpressionAttributeValues: { ...values, ...(seen.version === 0 ? { ':seenEpoch': seen.offboardEpoch, ':seenBlocked': seen.blocked } : { ':seenVersion': seen.version }) },
  });
}

/** A block window opened at `at` (or the open one closed): the windows the item keeps. */
function windowsAfter(seen: OrgUser, blocked: boolean, at: string): BlockWindow[] {
  if (blocked) return [...seen.blockedWindows, { from: at, to: null }].slice(-MAX_BLOCK_WINDOWS);
  return seen.blockedWindows.map((w) => (w.to === null ? { ...w, to: at } : w));
}

/** Blocks or unblocks the user at `at`, pinned to `seen`. */
export function setBlockedWrite(seen: OrgUser, blocked: boolean, at: string): Write {
  return changeWrite(seen, {
    blocked, offboardEpoch: seen.offboardEpoch, blockedAt: blocked ? at : null, blockedWindows: windowsAfter(seen, blocked, at),
  }, { listBlocked: blocked });
}

/** An offboarding: the org-wide watermark goes up by one (at `at`), pinned to `seen`; `block` blocks the user with it. */
export function offboardWrite(seen: OrgUser, at: string, { block }: { block: boolean }): Write {
  const blocks = block && !seen.blocked;
  return changeWrite(seen, {
    // The time watermark never goes back (a replayed offboarding may be older than a later one).
    offboardEpoch: seen.offboardEpoch + 1, revokedAt: seen.revokedAt && seen.revokedAt > at ? seen.revokedAt : at, blocked: block || seen.blocked, blockedAt: blocks ? at : seen.blockedAt,
    blockedWindows: blocks ? windowsAfter(seen, true, at) : seen.blockedWindows,
  }, { listBlocked: block || seen.blocked });
}

/**
 * A restore's replay (shared/domain/restore-replay.ts): the block as the revocation log last saw
 * it, its windows merged with those the restored item holds (a window the log saw closed is
 * closed), pinned to `seen`. Undefined when that changes nothing.
 */
export function restoreBlockWrite(seen: OrgUser, logged: Pick<OrgUser, 'blocked' | 'blockedAt' | 'blockedWindows'>): Write | undefined {
  const byStart = new Map([...seen.blockedWindows, ...logged.blockedWindows].map((w) => [w.from, w]));
  for (const w of logged.blockedWindows) if (w.to !== null) byStart.set(w.from, w);
  const windows = [...byStart.values()].sort((a, b) => a.from.localeCompare(b.from)).slice(-MAX_BLOCK_WINDOWS);
  if (seen.blocked === logged.blocked && JSON.stringify(windows) === JSON.stringify(seen.blockedWindows)) return undefined;
  return changeWrite(seen, { blocked: logged.blocked, offboardEpoch: seen.offboardEpoch, blockedAt: logged.blockedAt, blockedWindows: windows }, { listBlocked: logged.blocked });
}

/** One page of the org's blocked users, by id (eventually consistent, as every index). */
export async function listBlockedUsers(orgId: string, limit: number, startKey?: Item): Promise<ListedPage<OrgUser>> {
  const page = await queryPage({ index: 'gsi2', partition: partitionOf('gsi2', orgUserKeys.blocked(orgId, '')), limit, startKey });
  const users = page.items.map((i) => toOrgUser(i)).filter((u): u is OrgUser => u !== undefined);
  return { items: users, lastKey: page.lastKey, resumeKeys: page.items.map((i) => resumeKeyOf('gsi2', i)) };
}
