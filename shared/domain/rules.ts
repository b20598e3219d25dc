import { effectiveExpiry } from './policies.js';
import type { App, AppUser, Grant, Token } from '../model.js';
import type { OrgUser } from '../db/org-user.js';

type AppGate = Pick<App, 'revokeEpoch' | 'policies'>;

/**
 * What a token's life depends on beyond itself and the watermarks: its grant's item and, for an
 * access token an older version registered from a refresh token (before grants), that refresh token.
 */
export interface Lineage {
  grant: Grant | undefined;
  legacyParent: Token | undefined;
}

export const NO_LINEAGE: Lineage = { grant: undefined, legacyParent: undefined };

/**
 * The grant item a token reads, if any: `required` when the token names its grant (a token
 * without its grant's item is dead: fail closed); otherwise the grant an older version's token
 * is adopted into (by `adoptLegacy`), which may not exist yet. An access token issued without a
 * refresh token is a grant of its own and reads none.
 */
export function grantRef(token: Pick<Token, 'type' | 'tokenId' | 'grantId' | 'refreshTokenId'>): { grantId: string; required: boolean } | undefined {
  if (token.grantId !== null) return { grantId: token.grantId, required: true };
  if (token.type === 'refresh') return { grantId: token.tokenId, required: false };
  return token.refreshTokenId === null ? undefined : { grantId: token.refreshTokenId, required: false };
}

/** An access token an older version registered from a refresh token: that token's id, whose tombstone kills it. */
export const legacyParentId = (token: Pick<Token, 'grantId' | 'refreshTokenId' | 'type'>) =>
  (token.grantId === null && token.type === 'access' ? token.refreshTokenId : null);

export interface IntrospectionContext {
  token: Token;
  /** The app row, or any of its shards (they carry the same epoch and policies). */
  app: AppGate | undefined;
  user: AppUser | undefined;
  /** The user's org-wide watermark (an offboarding raises it). */
  orgUser: OrgWatermark;
  lineage: Lineage;
}

type OrgWatermark = Pick<OrgUser, 'offboardEpoch'>;

/**
 * The single definition of "active". Revocation of any number of tokens is O(1) because it only
 * raises a watermark epoch (or revokes a grant); a token registered under an older epoch is dead
 * from that moment on, whether or not the cleanup has deleted its item yet. Epochs are counters,
 * so no clock is involved. A retired refresh token (rotated out) is never active.
 */
export function isActive({ token, app, user, orgUser, lineage }: IntrospectionContext, now: number): boolean {
  if (!app || token.retiredAt !== null || isRevoked(token, app.revokeEpoch, user, lineage) || offboarded(token, orgUser)) return false;
  const expiry = effectiveExpiry(token, app.policies);
  return expiry === null || now < expiry;
}

/**
 * Revoked, for good: a tombstone, a token under a raised app or user watermark, a token of a
 * revoked grant (or that names a grant that is gone), or an older version's access token whose
 * refresh token was revoked. (A token whose user row is missing is never active.)
 */
export function isRevoked(token: Token, appEpoch: number, user: Pick<AppUser, 'revokeEpoch'> | undefined, lineage: Lineage): boolean {
  if (!user || token.revokedAt !== null || token.appEpoch < appEpoch || token.userEpoch < user.revokeEpoch) return true;
  const ref = grantRef(token);
  if (ref && (lineage.grant ? lineage.grant.revokedAt !== null : ref.required)) return true;
  // An older version's access token dies with its refresh token's revocation, not with a policy's end of it.
  return lineage.legacyParent?.revokedAt != null && !lineage.legacyParent.policyEnded;
}

/** Revoked by an offboarding of its user (in every app at once), which the app's own watermarks may not show yet. */
export const offboarded = (token: Pick<Token, 'orgUserEpoch'>, orgUser: OrgWatermark) => token.orgUserEpoch < orgUser.offboardEpoch;

/** The user's counted tokens under the app's current epoch (zero after an app-wide revocation). */
export function heldTokens(user: Pick<AppUser, 'countEpoch' | 'activeTokenCount'> | undefined, appEpoch: number): number {
  return user && user.countEpoch === appEpoch ? user.activeTokenCount : 0;
}

/**
 * What a registration finds counted on the user's row: `held`, the tokens still alive, and
 * `offboarded`, those an offboarding ended that its raise has not uncounted yet (the row was left
 * for its step: every counted token is from before the watermark). The registration uncounts
 * those in its own transaction and raises the row's user epoch past them (`userEpochForNew`), so
 * the counts are exact from then on and nothing counts them again.
 */
export function countedOnRow(user: Pick<AppUser, 'countEpoch' | 'activeTokenCount' | 'lastOrgUserEpoch'> | undefined, appEpoch: number, orgUser: OrgWatermark): { held: number; offboarded: number } {
  const counted = heldTokens(user, appEpoch);
  return user && counted > 0 && user.lastOrgUserEpoch < orgUser.offboardEpoch ? { held: 0, offboarded: counted } : { held: counted, offboarded: 0 };
}

/**
 * The user epoch a new token of the row is registered under: the row's, or one more when the
 * registration uncounts offboarded tokens (it raises the row, so those count nowhere any more).
 */
export const userEpochForNew = (user: Pick<AppUser, 'revokeEpoch'> | undefined, offboarded: number) => (user?.revokeEpoch ?? 0) + (offboarded > 0 ? 1 : 0);

/**
 * Whether a token counts now: still counted under the current epochs, not retired, and not of a
 * revoked grant (that revocation uncounted it with the grant, at once).
 */
export function countsNow(token: Token, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'>, appEpoch: number, lineage: Lineage): boolean {
  return token.retiredAt === null && !isRevoked(token, appEpoch, user, lineage) && isCounted(token, user, appEpoch);
}

/** Whether a grant's `counted` is part of the user's and app's counters (it was created under the current epochs). */
export const grantCounts = (grant: Grant, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'> | undefined, appEpoch: number) =>
  user !== undefined && grant.revokedAt === null && isCounted(grant, user, appEpoch);

export type RemovalAction = 'tombstone' | 'expire' | 'delete' | 'revokeEnded';

export interface RemovalChoice {
  token: Token;
  /**
   * tombstone: revoked (remembered until it expires); expire: ended by a policy (the refresh-token
   * policy, the session timeout), remembered as a tombstone too, so a retried registration cannot
   * bring it back, only if it was not used since read; delete: past its own expiry; revokeEnded: a
   * refresh token a policy ended, revoked after all (its tombstone becomes a revocation's, its grant ends).
   */
  action: RemovalAction;
}

/**
 * What removing some of one user's tokens on their own does to the counters: each token that
 * counts now leaves them, and its grant (if it has an item) counts one less. A whole grant is
 * revoked by `revokeGrant` instead.
 */
export function planRemoval(user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'> | undefined, appEpoch: number, choices: RemovalChoice[], lineageOf: (token: Token) => Lineage) {
  let uncount = 0;
  const grants = new Map<string, { grant: Grant; uncounted: number }>();
  for (const { token } of choices) {
    const lineage = lineageOf(token);
    if (!user || !countsNow(token, user, appEpoch, lineage)) continue;
    uncount += 1;
    const { grant } = lineage;
    if (grant && grantCounts(grant, user, appEpoch)) grants.set(grant.grantId, { grant, uncounted: (grants.get(grant.grantId)?.uncounted ?? 0) + 1 });
  }
  return { uncount, grants: [...grants.values()] };
}

/**
 * Whether a token (or grant) is in its user's and app's counters. A watermark revocation uncounts
 * every token it kills at once, so a token registered under an older epoch is not counted any more.
 */
export function isCounted(token: Pick<Token, 'appEpoch' | 'userEpoch'>, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'>, appEpoch: number): boolean {
  return token.appEpoch === appEpoch && user.countEpoch === appEpoch && token.userEpoch === user.revokeEpoch;
}
