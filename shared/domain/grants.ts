/**
 * Grants (see shared/db/grant.ts): revoking one whole, and adopting the tokens an older version
 * registered (before grants) into theirs. No queue here: registration and introspection revoke a
 * grant on refresh-token reuse and leave its cleanup to the sweep.
 */
import { deactivateIfIdle } from '../db/app.js';
import { countInGrantWrite, createGrantWrite } from '../db/grant.js';
import { adoptTokenWrite, getTokenContext, toToken, tombstoneWrite } from '../db/token.js';
import type { Item } from '../db/requests.js';
import { commit } from '../db/unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { AuditEvent, Grant, Token } from '../model.js';
import { legacyParentKeyOf, lineageAmong, lineageKeys } from './lineage.js';
import { removeTokens } from './removal.js';
import { countsNow, grantCounts, grantRef, heldTokens, isRevoked } from './rules.js';
import { logger } from '../logger.js';
import { ConflictError } from '../errors.js';
import type { Policies } from '../schemas/policies.js';
import { auditEvent } from './audit.js';

/**
 * Revokes the grant of `token` (a refresh token, current or retired) in one transaction: the
 * grant is revoked (every token of it dead at once), what it counted leaves the counters, the
 * token becomes a tombstone due for the check of the grant's other tokens at `checkGrantAt`, and
 * `event` is recorded. False if the token or its grant was revoked already.
 */
export async function revokeGrant(token: Token, now: number, checkGrantAt: string, event?: AuditEvent): Promise<boolean> {
  const at = iso(now);
  return retrying(async () => {
    const { grantIds, lookupKeys } = lineageKeys([token]);
    const ctx = await getTokenContext(token.orgId, token.appId, token.userId, [token.lookupKey, ...lookupKeys], grantIds);
    const current = ctx.tokens.get(token.lookupKey);
    if (!current || !ctx.shard) return false;
    const lineage = lineageAmong(ctx)(current);
    // A refresh token a policy ended is dead, but its grant's access tokens live on: revoking it ends them.
    const ended = current.revokedAt !== null && current.policyEnded && lineage.grant?.revokedAt === null;
    if (!ended && isRevoked(current, ctx.shard.revokeEpoch, ctx.user, lineage)) return false;
    if (!lineage.grant) {
      await adoptLegacy(current, now); // a refresh token of an older version: its grant first
      return RETRY;
    }
    const grant = lineage.grant;
    const appEpoch = ctx.shard.revokeEpoch;
    // What the grant counted leaves the counters; never more than the user's row holds, so that a
    // drifted count (the reconciler's to repair) can never keep a grant from being revoked.
    const counted = grantCounts(grant, ctx.user, appEpoch) ? grant.counted : 0;
    const uncount = Math.min(counted, heldTokens(ctx.user, appEpoch));
    if (uncount < counted) logger.warn('A grant counted more tokens than its user row holds; revoking it all the same', { orgId: token.orgId, appId: token.appId, grantId: grant.grantId, counted, held: uncount });
    const result = await removeTokens({
      user: ctx.user, appEpoch, at,
      tokens: [{ token: current, action: ended ? 'revokeEnded' : 'tombstone', checkChildrenAt: checkGrantAt }],
      uncount, grants: [], revokeGrant: grant, ...(event ? { event } : {}),
    });
    if (result === 'stale') return RETRY;
    if (result === 'user-idle') await deactivateIfIdle(token.orgId, token.appId);
    return true;
  }, () => new ConflictError('The grant was changed concurrently too often; retry the request'));
}

/** `npm run migrate`'s grant steps: a scanned token item adopted into its grant (see `adoptGrants`). */
export const adoptScanned = (item: Item) => {
  const token = toToken(item);
  return token ? adoptLegacy(token, Date.now()) : Promise.resolve(false);
};

/**
 * Gives a live token an older version registered its grant, once (idempotent; true if it wrote),
 * in one transaction that pins the token as read. A refresh token gets a grant of its own id,
 * created from it (what it counted: itself and its counted access tokens). An access token
 * registered from a refresh token joins that one's grant (counted there already); when that
 * refresh token is gone, a grant of its id in which such tokens count on their own (`orphan`);
 * when it is revoked, the access token is dead with it and becomes a tombstone now. A tombstone
 * has nothing to adopt: it is revoked already.
 */
export async function adoptLegacy(token: Token, now: number): Promise<boolean> {
  const ref = grantRef(token);
  if (token.grantId !== null || token.revokedAt !== null || !ref) return false;
  return retrying(async () => {
    const parentKey = legacyParentKeyOf(token);
    const ctx = await getTokenContext(token.orgId, token.appId, token.userId, [token.lookupKey, ...(parentKey ? [parentKey] : [])], [ref.grantId]);
    const current = ctx.tokens.get(token.lookupKey);
    if (!current || current.grantId !== null || current.revokedAt !== null || !ctx.shard) return false;
    const grant = ctx.grants.get(ref.grantId);
    const appEpoch = ctx.shard.revokeEpoch;
    const counts = ctx.user !== undefined && countsNow(current, ctx.user, appEpoch, { grant: undefined, legacyParent: undefined });
    const base = { orgId: current.orgId, appId: current.appId, userId: current.userId, grantId: ref.grantId, appEpoch: current.appEpoch, userEpoch: current.userEpoch };
    let writes;
    if (current.type === 'refresh') {
      const created: Grant = {
        ...base, counted: counts ? 1 + current.childCount : 0, revokedAt: null, version: 1,
        // The access tokens' expiries are not known here: kept until revoked or deleted.
        expiresAt: null,
      };
      writes = grant ? [adoptTokenWrite(current, ref.grantId)] : [createGrantWrite(created), adoptTokenWrite(current, ref.grantId)];
    } else {
      const parent = parentKey ? ctx.tokens.get(parentKey) : undefined;
      if (parent?.revokedAt && !parent.policyEnded) {
        writes = [tombstoneWrite(current, iso(now), null)]; // dead (and uncounted) with its refresh token
      } else if (parent?.grantId != null && parent.grantId !== ref.grantId) {
        // Registered by an older version, during an upgrade, from a refresh token of a grant that is
        // not rooted at it (a rotated one): it joins that grant, and counts there from now on.
        writes = [countInGrantWrite({ ...base, grantId: parent.grantId }, counts, false), adoptTokenWrite(current, parent.grantId)];
      } else if (parent && !grant) {
        await adoptLegacy(parent, now); // its refresh token's grant first, then this one joins it
        return RETRY;
      } else if (grant && !grant.orphan) {
        writes = [adoptTokenWrite(current, ref.grantId)]; // counted there already, through its refresh token's childCount
      } else {
        writes = [countInGrantWrite(base, counts, true), adoptTokenWrite(current, ref.grantId)];
      }
    }
    return (await commit(writes)) || RETRY;
  }, () => new ConflictError('A token kept changing while it was given its grant; retry'));
}

/** The audit actor of refresh-token reuse detection (RFC 9700 §4.14.2). */
const REUSE_DETECTION = 'refresh-token-reuse-detection';

/**
 * Whether a rotated-out refresh token presented again is within the app's reuse grace: never with
 * a grace of 0 (any second successor is reuse, however the two requests interleaved), otherwise
 * for that long after it was retired, by the clock now (not the request's start).
 */
export function withinReuseGrace(token: Token, policies: Policies): boolean {
  const graceMs = policies.refreshTokenReuseGraceSeconds * 1000;
  return graceMs > 0 && Date.now() - Date.parse(token.retiredAt ?? '') <= graceMs;
}

/** `grant.revoked`: a rotated-out refresh token was presented again. */
export const reuseEvent = (token: Token, orgId: string, now: number, presentedTo: 'registration' | 'introspection') => auditEvent({ orgId, sub: REUSE_DETECTION }, 'grant.revoked', {
  appId: token.appId, userId: token.userId, tokenId: token.tokenId,
  details: { reason: 'refresh-token-reused', grantId: grantRef(token)?.grantId ?? token.tokenId, presentedTo, retiredAt: token.retiredAt },
}, now, 'system');
