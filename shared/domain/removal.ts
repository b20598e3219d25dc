import { uncount as uncountFromApp } from '../db/app.js';
import { uncount as uncountFromUser, unlinkStaleUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { revokeGrantWrite, uncountInGrantWrite } from '../db/grant.js';
import { deleteUnusedWrite, expireUnusedWrite, revokeEndedWrite, tombstoneWrite } from '../db/token.js';
import { commit, type Write } from '../db/unit-of-work.js';
import { isClientUser, type AppUser, type AuditEvent, type Grant, type Token } from '../model.js';
import type { RemovalAction } from './rules.js';

/**
 * Tokens of one user removed in one transaction. Each may belong to a grant whose count goes
 * down too, so a transaction (at most 100 items) holds the tokens, as many grants, the user row
 * and its link, one shard and an audit event.
 */
export const MAX_TOKENS_PER_REMOVAL = 48;

const removalWrite: Record<RemovalAction, (token: Token, at: string, checkChildrenAt: string | null) => Write> = {
  tombstone: tombstoneWrite,
  expire: (token, at) => expireUnusedWrite(token, at),
  delete: (token) => deleteUnusedWrite(token),
  revokeEnded: revokeEndedWrite,
};

/** 'stale': something changed since it was read, re-read and retry; 'user-idle': the user has no active token left. */
export type RemovalResult = 'stale' | 'removed' | 'user-idle';

/**
 * What one transaction does to some of one user's tokens for one app (see `planRemoval`): each
 * token is tombstoned (revoked: remembered until it expires), expired (ended by a policy:
 * tombstoned too, only if it was not used since it was read) or deleted (past its own expiry,
 * the same condition); `uncount` tokens leave the user's and the
 * app's counters; grants that stay count the tokens named here less; `revokeGrant` ends a grant.
 */
export interface Removal {
  /** The user's row as read (undefined: none, and then nothing is uncounted). */
  user: AppUser | undefined;
  appEpoch: number;
  at: string;
  /** `checkChildrenAt`: a refresh token revoked with its grant, whose other tokens the sweep checks then. */
  tokens: { token: Token; action: RemovalAction; checkChildrenAt?: string }[];
  uncount: number;
  grants: { grant: Grant; uncounted: number }[];
  /** A grant (as read) revoked in the same transaction; `uncount` then holds what it counted. */
  revokeGrant?: Grant;
  event?: AuditEvent;
}

/**
 * Runs a removal atomically, pinned to what was read: each token as read, each grant's version,
 * and the user's count and epochs. The user's last token takes the row out of the active-user lists
 * and the user's apps; removing any token of a row left over from an app-wide revocation takes it
 * out of the user's apps.
 */
export async function removeTokens(removal: Removal): Promise<RemovalResult> {
  const { user, appEpoch, at, uncount, event } = removal;
  if (removal.tokens.length === 0) return 'removed';
  if (removal.tokens.length + removal.grants.length > 2 * MAX_TOKENS_PER_REMOVAL) throw new RangeError(`At most ${MAX_TOKENS_PER_REMOVAL} tokens per removal`);
  if (uncount > 0 && !user) throw new RangeError('Nothing can be uncounted without the user row');
  const { orgId, appId } = removal.tokens[0]!.token;
  const leavesUserIdle = user !== undefined && uncount > 0 && user.activeTokenCount <= uncount;
  const done = await commit([
    ...removal.tokens.map(({ token, action, checkChildrenAt }) => removalWrite[action](token, at, checkChildrenAt ?? null)),
    ...removal.grants.map(({ grant, uncounted }) => uncountInGrantWrite(grant, uncounted)),
    ...(removal.revokeGrant ? [revokeGrantWrite(removal.revokeGrant, at)] : []),
    ...(uncount > 0 && user ? [...uncountFromUser(user, appEpoch, uncount), uncountFromApp(orgId, appId, appEpoch, uncount, leavesUserIdle && !isClientUser(user.userId) ? 1 : 0)] : []),
    // A row still counting under an older app epoch (it counts nothing, so nothing is uncounted
    // above) leaves the user's apps here: the app-wide revocation's cleanup unlinks only the users
    // whose tokens it still finds, and these may be the last of them.
    ...(user ? unlinkStaleUser(user, appEpoch) : []),
    ...(event ? [recordEvent(event)] : []),
  ]);
  if (!done) return 'stale';
  return leavesUserIdle ? 'user-idle' : 'removed';
}
