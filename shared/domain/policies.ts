import type { Policies, RefreshTokenPolicy } from '../schemas/policies.js';
import type { Token } from '../model.js';
import { canonicalTime } from '../time.js';

const unitMs = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;

const earliest = (...times: (number | null)[]): number | null =>
  times.reduce<number | null>((min, t) => (t === null ? min : min === null ? t : Math.min(min, t)), null);

/** When the refresh-token policy ends a refresh token, given its registration and last use. */
export function refreshPolicyExpiry(policy: RefreshTokenPolicy, issuedAt: number, lastUsedAt: number | null): number | null {
  switch (policy.mode) {
    case 'until-revoked':
      return null;
    case 'expire-immediately':
      return issuedAt;
    case 'expire-after':
      return issuedAt + policy.value * unitMs[policy.unit];
    case 'expire-if-unused':
      return (lastUsedAt ?? issuedAt) + policy.value * unitMs[policy.unit];
  }
}

/** The expiry stored at registration: the caller's, capped for access tokens by the app's lifetime. */
export function expiryAtRegistration(type: Token['type'], requested: string | undefined, issuedAt: number, policies: Policies): string | null {
  const requestedMs = requested === undefined ? null : Date.parse(requested);
  const cap = type === 'access' && policies.accessTokenLifetimeMinutes !== null ? issuedAt + policies.accessTokenLifetimeMinutes * 60_000 : null;
  const expiry = earliest(requestedMs, cap);
  return expiry === null ? null : new Date(expiry).toISOString();
}

/**
 * When the session timeout (an idle timeout) ends a token: that long after its last active
 * introspection, or after it was issued if it was never used. Null: no timeout.
 */
export function idleExpiry(token: Pick<Token, 'issuedAt' | 'lastUsedAt'>, policies: Pick<Policies, 'sessionTimeoutMinutes'>): number | null {
  if (policies.sessionTimeoutMinutes === null) return null;
  return Date.parse(token.lastUsedAt ?? token.issuedAt) + policies.sessionTimeoutMinutes * unitMs.minutes;
}

/**
 * When a token stops being active under the app's *current* policies (a policy change applies to
 * existing tokens): the first of its own expiry, the session timeout and, for refresh tokens, the
 * refresh-token policy.
 */
export function effectiveExpiry(token: Pick<Token, 'type' | 'expiresAt' | 'issuedAt' | 'lastUsedAt'>, policies: Policies): number | null {
  const own = token.expiresAt === null ? null : Date.parse(token.expiresAt);
  const idle = idleExpiry(token, policies);
  if (token.type !== 'refresh') return earliest(own, idle);
  const lastUsed = token.lastUsedAt === null ? null : Date.parse(token.lastUsedAt);
  return earliest(own, idle, refreshPolicyExpiry(policies.refreshTokenPolicy, Date.parse(token.issuedAt), lastUsed));
}

/**
 * When the sweep checks a revoked refresh token's access tokens once more (any the queue's
 * cleanup missed are tombstoned then); only after that may its tombstone expire with the token.
 */
export const CHILDREN_CHECK_AFTER_MS = 86_400_000;

export const childrenCheckAt = (revokedAt: string) => new Date(Date.parse(revokedAt) + CHILDREN_CHECK_AFTER_MS).toISOString();

/**
 * When the sweep must look at a token next: when it stops being active under the app's current
 * policies, or for a revoked refresh token when its children are checked. Null: never (it lives until revoked).
 */
export function sweepDueAt(token: Pick<Token, 'type' | 'expiresAt' | 'issuedAt' | 'lastUsedAt' | 'revokedAt'>, policies: Policies): string | null {
  if (token.revokedAt !== null) return childrenCheckAt(token.revokedAt);
  const expiry = effectiveExpiry(token, policies);
  // Clamped, so that an expiry stored before times were bounded cannot sort before every real time.
  return expiry === null ? null : canonicalTime(expiry);
}
