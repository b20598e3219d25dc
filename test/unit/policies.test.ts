import { describe, expect, it } from 'vitest';
import type { Token } from '../../shared/model.js';
import { effectiveExpiry, expiryAtRegistration, sweepDueAt, CHILDREN_CHECK_AFTER_MS } from '../../shared/domain/policies.js';
import { heldTokens, isActive, isCounted, NO_LINEAGE } from '../../shared/domain/rules.js';
import type { Grant } from '../../shared/model.js';
import * as v from 'valibot';
import { newAppRecord } from '../../shared/domain/apps.js';
import { createAppSchema } from '../../shared/schemas/apps.js';
import { defaultPolicies, type Policies } from '../../shared/schemas/policies.js';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const policies = (p: Partial<Policies> = {}): Policies => ({ ...defaultPolicies(), ...p });
const token = (over: Partial<Token> = {}): Token => ({
  orgId: 'o', appId: 'a', userId: 'u', lookupKey: 'k', tokenId: 't', type: 'refresh', scopes: [], issuedAt: new Date(t0).toISOString(), audience: [], issuer: null, learnedFrom: null, cnf: null,
  expiresAt: null, presentableUntil: null, refreshTokenId: null, grantId: null, retiredAt: null, successorId: null, appEpoch: 0, userEpoch: 0, orgUserEpoch: 0, lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: null, policyEnded: false, dueAt: null, ...over,
});
const app = (p: Partial<Policies> = {}, revokeEpoch = 0) => ({ ...newAppRecord('o', 'a', { ...v.parse(createAppSchema, { name: 'A' }), policies: policies(p) }, t0), revokeEpoch });
const user = (revokeEpoch = 0) => ({ orgId: 'o', appId: 'a', userId: 'u', userName: null, firstUsedAt: null, lastUsedAt: null, useCount: 0, activeTokenCount: 1, revokeEpoch, countEpoch: 0, revokedAt: null, lastOrgUserEpoch: 0 });
/** A user never blocked or offboarded. */
const never = { offboardEpoch: 0 };

describe('refresh-token policies', () => {
  it('expire-after N ends the token exactly N units after registration', () => {
    const p = policies({ refreshTokenPolicy: { mode: 'expire-after', value: 90, unit: 'minutes' } });
    expect(effectiveExpiry(token(), p)).toBe(t0 + 90 * 60_000);
  });

  it('expire-if-unused N counts from the last use, or from registration', () => {
    const p = policies({ refreshTokenPolicy: { mode: 'expire-if-unused', value: 2, unit: 'days' } });
    expect(effectiveExpiry(token(), p)).toBe(t0 + 2 * 86_400_000);
    expect(effectiveExpiry(token({ lastUsedAt: new Date(t0 + 3_600_000).toISOString() }), p)).toBe(t0 + 3_600_000 + 2 * 86_400_000);
  });

  it('expire-immediately ends it at registration; until-revoked keeps the token’s own expiry', () => {
    expect(effectiveExpiry(token(), policies({ refreshTokenPolicy: { mode: 'expire-immediately' } }))).toBe(t0);
    expect(effectiveExpiry(token({ expiresAt: new Date(t0 + 5).toISOString() }), policies())).toBe(t0 + 5);
    expect(effectiveExpiry(token(), policies())).toBeNull();
  });

  it('does not apply refresh policies to access tokens', () => {
    expect(effectiveExpiry(token({ type: 'access' }), policies({ refreshTokenPolicy: { mode: 'expire-immediately' } }))).toBeNull();
  });

  it('caps an access token at accessTokenLifetimeMinutes, keeping an earlier requested expiry', () => {
    const p = policies({ accessTokenLifetimeMinutes: 60 });
    expect(expiryAtRegistration('access', undefined, t0, p)).toBe(new Date(t0 + 3_600_000).toISOString());
    expect(expiryAtRegistration('access', new Date(t0 + 60_000).toISOString(), t0, p)).toBe(new Date(t0 + 60_000).toISOString());
    expect(expiryAtRegistration('refresh', undefined, t0, p)).toBeNull();
  });
});

describe('when the sweep looks at a token', () => {
  it('is when it stops being active under the current policies, or never', () => {
    const p = policies({ refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' } });
    expect(sweepDueAt(token(), p)).toBe(new Date(t0 + 3_600_000).toISOString());
    expect(sweepDueAt(token({ expiresAt: new Date(t0 + 60_000).toISOString() }), p)).toBe(new Date(t0 + 60_000).toISOString());
    expect(sweepDueAt(token({ type: 'access' }), p)).toBeNull();
    expect(sweepDueAt(token(), policies())).toBeNull();
  });

  it('is a day after revocation for a tombstone, whatever the policy', () => {
    const revokedAt = new Date(t0 + 5).toISOString();
    expect(sweepDueAt(token({ revokedAt }), policies({ refreshTokenPolicy: { mode: 'expire-immediately' } }))).toBe(new Date(t0 + 5 + CHILDREN_CHECK_AFTER_MS).toISOString());
    expect(CHILDREN_CHECK_AFTER_MS).toBe(86_400_000);
  });
});

describe('isActive', () => {
  it('is active until the expiry, and not at it', () => {
    const t = token({ expiresAt: new Date(t0 + 1000).toISOString() });
    expect(isActive({ token: t, app: app(), user: user(), orgUser: never, lineage: NO_LINEAGE }, t0 + 999)).toBe(true);
    expect(isActive({ token: t, app: app(), user: user(), orgUser: never, lineage: NO_LINEAGE }, t0 + 1000)).toBe(false);
  });

  it('is revoked by an app, user or org-wide user watermark above the token’s epoch, and only then', () => {
    const t = token({ appEpoch: 1, userEpoch: 2, orgUserEpoch: 1 });
    expect(isActive({ token: t, app: app({}, 1), user: user(2), orgUser: { offboardEpoch: 1 }, lineage: NO_LINEAGE }, t0)).toBe(true);
    expect(isActive({ token: t, app: app({}, 2), user: user(2), orgUser: { offboardEpoch: 1 }, lineage: NO_LINEAGE }, t0)).toBe(false);
    expect(isActive({ token: t, app: app({}, 1), user: user(3), orgUser: { offboardEpoch: 1 }, lineage: NO_LINEAGE }, t0)).toBe(false);
    expect(isActive({ token: t, app: app({}, 1), user: user(2), orgUser: { offboardEpoch: 2 }, lineage: NO_LINEAGE }, t0)).toBe(false);
  });

  it('is inactive when the token, or the refresh token it came from, is revoked, or the app is gone', () => {
    expect(isActive({ token: token({ revokedAt: 'x' }), app: app(), user: user(), orgUser: never, lineage: NO_LINEAGE }, t0)).toBe(false);
    const child = token({ type: 'access', refreshTokenId: 'p' });
    expect(isActive({ token: child, app: app(), user: user(), orgUser: never, lineage: { grant: undefined, legacyParent: token({ revokedAt: 'x' }) } }, t0)).toBe(false);
    expect(isActive({ token: child, app: app(), user: user(), orgUser: never, lineage: { grant: undefined, legacyParent: token() } }, t0)).toBe(true);
    expect(isActive({ token: child, app: undefined, user: user(), orgUser: never, lineage: NO_LINEAGE }, t0)).toBe(false);
  });

  it('is inactive when its grant is revoked or gone, and once rotated out', () => {
    const grant = (over: Partial<Grant> = {}): Grant => ({ orgId: 'o', appId: 'a', userId: 'u', grantId: 'g', counted: 2, appEpoch: 0, userEpoch: 0, revokedAt: null, version: 1, expiresAt: null, ...over });
    const member = token({ type: 'access', grantId: 'g', refreshTokenId: 'r' });
    expect(isActive({ token: member, app: app(), user: user(), orgUser: never, lineage: { grant: grant(), legacyParent: undefined } }, t0)).toBe(true);
    expect(isActive({ token: member, app: app(), user: user(), orgUser: never, lineage: { grant: grant({ revokedAt: 'x' }), legacyParent: undefined } }, t0)).toBe(false);
    // A token that names its grant and finds no grant item is dead (fail closed).
    expect(isActive({ token: member, app: app(), user: user(), orgUser: never, lineage: NO_LINEAGE }, t0)).toBe(false);
    expect(isActive({ token: token({ grantId: 'g', retiredAt: 'x' }), app: app(), user: user(), orgUser: never, lineage: { grant: grant(), legacyParent: undefined } }, t0)).toBe(false);
    // An access token issued without a refresh token is a grant of its own.
    expect(isActive({ token: token({ type: 'access' }), app: app(), user: user(), orgUser: never, lineage: NO_LINEAGE }, t0)).toBe(true);
  });
});

describe('counting under watermarks', () => {
  it('counts a user’s tokens only under the app epoch its row counts for', () => {
    expect(heldTokens({ countEpoch: 2, activeTokenCount: 3 }, 2)).toBe(3);
    expect(heldTokens({ countEpoch: 1, activeTokenCount: 3 }, 2)).toBe(0);
    expect(heldTokens(undefined, 0)).toBe(0);
  });

  it('counts a token only while neither watermark has passed it', () => {
    const u = { countEpoch: 1, revokeEpoch: 4 };
    expect(isCounted({ appEpoch: 1, userEpoch: 4 }, u, 1)).toBe(true);
    expect(isCounted({ appEpoch: 1, userEpoch: 3 }, u, 1)).toBe(false);
    expect(isCounted({ appEpoch: 0, userEpoch: 4 }, u, 1)).toBe(false);
    expect(isCounted({ appEpoch: 1, userEpoch: 4 }, { countEpoch: 0, revokeEpoch: 4 }, 1)).toBe(false);
  });
});
