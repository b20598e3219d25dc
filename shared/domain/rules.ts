import { effectiveExpiry } from './policies.js';
import type { App, AppUser, Token } from './model.js';

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
  if (!app || !user || token.revokedAt !== null) return false;
  if (token.appEpoch < app.revokeEpoch || token.userEpoch < user.revokeEpoch) return false;
  if (parent?.revokedAt) return false;
  const expiry = effectiveExpiry(token, app.policies);
  return expiry === null || now < expiry;
}

/** The user's counted tokens under the app's current epoch (zero after an app-wide revocation). */
export function heldTokens(user: Pick<AppUser, 'countEpoch' | 'activeTokenCount'> | undefined, appEpoch: number): number {
  return user && user.countEpoch === appEpoch ? user.activeTokenCount : 0;
}

/**
 * Whether a token is in its user's and app's counters. A watermark revocation uncounts every
 * token it kills at once, so a token registered under an older epoch is not counted any more.
 */
export function isCounted(token: Pick<Token, 'appEpoch' | 'userEpoch'>, user: Pick<AppUser, 'countEpoch' | 'revokeEpoch'>, appEpoch: number): boolean {
  return token.appEpoch === appEpoch && user.countEpoch === appEpoch && token.userEpoch === user.revokeEpoch;
}
