/**
 * An app's policies (the Policies tab). Apart from the apps' other schemas because the queue's
 * messages carry a refresh-token policy: the worker parses it, and loads no schema of a route.
 */
import * as v from 'valibot';
import { intBetween, type Output } from './common.js';

const durationUnit = v.picklist(['minutes', 'hours', 'days']);

export const refreshTokenPolicySchema = v.variant('mode', [
  v.strictObject({ mode: v.literal('until-revoked') }),
  v.strictObject({ mode: v.literal('expire-immediately') }),
  v.strictObject({ mode: v.literal('expire-after'), value: intBetween(1, 36500), unit: durationUnit }),
  v.strictObject({ mode: v.literal('expire-if-unused'), value: intBetween(1, 36500), unit: durationUnit }),
]);

/** Policies added after the first release: what an app's policies stored before them read as. */
export const policiesAddedLater = { refreshTokenReuseGraceSeconds: 0 } as const;

const minutesOrNull = v.optional(v.nullable(intBetween(1, 525_600)), null);

export const policiesSchema = v.strictObject({
  refreshTokenPolicy: v.optional(refreshTokenPolicySchema, { mode: 'until-revoked' }),
  /** Caps an access token's expiry at registration; null means the authorization server decides. */
  accessTokenLifetimeMinutes: minutesOrNull,
  permittedUsers: v.optional(v.picklist(['all-users-self-authorize', 'admin-approved-pre-authorized']), 'all-users-self-authorize'),
  ipRelaxation: v.optional(v.picklist(['enforce', 'relax-for-refresh', 'relax']), 'enforce'),
  sessionTimeoutMinutes: minutesOrNull,
  /** How long a rotated-out refresh token may be presented again without counting as reuse (two tabs refreshing at once). */
  refreshTokenReuseGraceSeconds: v.optional(intBetween(0, 60), policiesAddedLater.refreshTokenReuseGraceSeconds),
});

export type Policies = Output<typeof policiesSchema>;
export type RefreshTokenPolicy = Output<typeof refreshTokenPolicySchema>;

/** The policies of an app created without any: every default. */
export const defaultPolicies = (): Policies => v.parse(policiesSchema, {});
