import { effectiveExpiry } from './policies.js';
import type { App, AppUser, Token } from '../model.js';

type AppGate = Pick<App, 'revokeEpoch' | 'policies'>;

export interface IntrospectionContext {
  token: Token;
  /** The app row, or any of its shards (they carry the same epoch and policies). */
  app: AppGate | undefined;
  user: AppUser | undefined;
  /** The refresh token an access token came from, when it names one and it still exists. */
  parent: Token | undefined;
}

/**
 * The single definition of "active". Revocation of any number of tokens is O(1) because it only
 * raises a watermark epoch; a token registered under an older epoch is dead from that moment on,
 * whether or not the cleanup has deleted its item yet. Epochs are counters, so no clock is involved.
 */
export function isActive({ token, app, user, parent }: IntrospectionContext, now: number): boolean {
  if (!app || isRevoked(token, app.revokeEpoch, user, parent)) return false;
  const expiry = effectiveExpiry(token, app.policies);
  return expiry === null || now < expiry;
}

/**
 * Revoked, for good: a tombstone, a token under a raised app or user watermark, or an access
 * token whose refresh token was revoked. (A token whose user row is missing is never active.)
 */
export function isRevoked(token: Token, appEpoch: number, user: Pick<AppUser, 'revokeEpoch'> | undefined, parent: Token | undefined): boolean {
  return !user || token.revokedAt !== null || token.appEpoch < appEpoch || token.userEpoch < user.revokeEpoch || parent?.revokedAt != null;
}

/** The user's counted tokens under the app's current epoch (zero after an app-wide revocation). */
export function heldTokens(user: Pick<AppUser, 'countEpoch' | 'activeTokenCount'> | undefined, appEpoch: number): number {
  return user && user.countEpoch === appEpoch ? user.activeTokenCount : 0;
}

/** Parents by token id: the refresh tokens (or tombstones) that some access tokens were registered from. */
export type Parents = Map<string, Token>;

/** The refresh token (or tombstone) an access token was registered from, if it was read and still exists. */
export const parentOf = (token: Token, parents: Parents) => (token.refreshTokenId === null ? undefined : parents.get(token.refreshTokenId));

/**
 * Whether a token counts now: still counted under the current epochs, and not an access token
 * whose refresh token was revoked (that revocation uncounted it with its parent, at once).
 */
export function countsNow(token: Token, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'>, appEpoch: number, parents: Parents): boolean {
  return token.revokedAt === null && isCounted(token, user, appEpoch) && parentOf(token, parents)?.revokedAt == null;
}

export interface RemovalChoice {
  token: Token;
  /** tombstone: revoked (remembered until it expires); delete: expired or out of policy. */
  action: 'tombstone' | 'delete';
}

/**
 * What removing some of one user's tokens does to the counters: the tokens that count now leave
 * them, and a refresh token revoked takes its counted children along (they die with it); a
 * counted access token removed on its own is one child less for its refresh token, if that one
 * stays.
 */
export function planRemoval(user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'> | undefined, appEpoch: number, choices: RemovalChoice[], parents: Parents) {
  const removed = new Map(choices.map((c) => [c.token.tokenId, c]));
  let uncount = 0;
  const children = new Map<string, number>();
  for (const { token, action } of choices) {
    if (!user || !countsNow(token, user, appEpoch, parents)) continue;
    const parent = parentOf(token, parents);
    const parentRemoval = parent && removed.get(parent.tokenId);
    // Counted already with its parent's revocation in this same removal.
    if (parent && parentRemoval?.action === 'tombstone' && countsNow(parent, user, appEpoch, parents)) continue;
    uncount += 1 + (action === 'tombstone' && token.type === 'refresh' ? token.childCount : 0);
    if (parent && !parentRemoval) children.set(parent.lookupKey, (children.get(parent.lookupKey) ?? 0) + 1);
  }
  return { uncount, parents: [...children].map(([lookupKey, n]) => ({ lookupKey, children: n })) };
}

/**
 * Whether a token is in its user's and app's counters. A watermark revocation uncounts every
 * token it kills at once, so a token registered under an older epoch is not counted any more.
 */
export function isCounted(token: Pick<Token, 'appEpoch' | 'userEpoch'>, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'>, appEpoch: number): boolean {
  return token.appEpoch === appEpoch && user.countEpoch === appEpoch && token.userEpoch === user.revokeEpoch;
}
