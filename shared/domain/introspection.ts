/**
 * Introspection (RFC 7662): a registered token found by the keyed hash of its value, or a JWT of a
 * trusted issuer found (and on first sight learned) by its issuer and token id; the rules of its
 * app and user applied, its use recorded, and the answer resource servers' libraries expect.
 */

import { touchShardLastUsed } from '../db/app.js';
import { getIssuerByUrl, type TrustedIssuer } from '../db/issuer.js';
import type { ResourceServer } from '../db/resource-server.js';
import { findToken, getTokenContext, getTokens, recordUse, storedUnderAnyVersion, type TokenContext } from '../db/token.js';
import { countUse } from '../db/usage-day.js';
import type { TokenName } from '../crypto.js';
import { isClientUser, type AppShard, type AppUser, type Token } from '../model.js';
import { logger } from '../logger.js';
import { dayOf, iso } from '../time.js';
import type { IntrospectionView } from '../api/tokens.js';
import { revokeGrant, reuseEvent, withinReuseGrace } from './grants.js';
import { hasher } from './hasher.js';
import { createLearnedApp, ISSUER_CLOCK_SKEW_S, learnedToken, storeLearned, verifyLearned, type LearnedClaims } from './learned-tokens.js';
import { learnedNameOf, peekJwt, sameName } from './learned-names.js';
import { presetRules } from './issuer-presets.js';
import { lineageAmong, lineageKeys } from './lineage.js';
import { effectiveExpiry } from './policies.js';
import { declaredResourceServer } from './resource-servers.js';
import { isActive, NO_LINEAGE, type Lineage } from './rules.js';

/**
 * The contract allows an app's lastUsedAt to be about a minute behind; the by-last-use order of
 * an app's users is kept to the same resolution (the values shown stay exact).
 */
const LAST_USED_RESOLUTION_MS = 60_000;

const INACTIVE = { active: false } as const;

/**
 * RFC 7662. Two sequential read round trips (the token by hash; then an app shard, the user's row
 * in the app and org-wide, and the token's grant together) and one write round trip (the use, plus about once a minute per
 * shard the app's lastUsedAt). A rotated-out refresh token presented by the authorization server
 * (`asAuthorizationServer`: a caller that registers tokens) is reuse: its grant is revoked. A JWT
 * that was not registered by its value is looked up as a learned token of its issuer in the same
 * first round trip (with the issuer, if the org trusts it), and learned on first sight.
 */
export async function introspect(orgId: string, rawToken: string, now: number, { asAuthorizationServer, caller }: { asAuthorizationServer: boolean; caller: string }): Promise<IntrospectionView> {
  const jwt = peekJwt(rawToken);
  const rawKeys = hasher.lookupKeysOf(rawToken);
  const guessed = jwt && learnedNameOf(jwt, tokenIdClaims.get(issuerCacheKey(orgId, jwt.issuer)) ?? 'jti');
  const learnedKeys = guessed ? hasher.lookupKeysOf(guessed) : [];
  // The caller's declaration (cached per container) and the JWT's issuer are read beside the token: no round trip of their own.
  const [found, declared, issuer] = await Promise.all([
    learnedKeys.length ? getTokens(orgId, [...rawKeys, ...learnedKeys]) : findToken(orgId, rawKeys).then((t) => (t ? [t] : [])), declaredResourceServer(orgId, caller), jwt ? getIssuerByUrl(orgId, jwt.issuer) : undefined,
  ]);
  const byKey = new Map(found.map((t) => [t.lookupKey, t]));
  const [registered, learned] = [storedUnderAnyVersion(rawKeys, byKey), storedUnderAnyVersion(learnedKeys, byKey)];
  if (registered?.revokedAt || learned?.revokedAt) return INACTIVE;
  if (registered && registered.learnedFrom === null) return introspectRegistered(registered, declared, asAuthorizationServer, now);
  if (!jwt || !issuer) return INACTIVE; // a JWT of an issuer the org does not trust (or no longer does) is nobody's
  remember(tokenIdClaims, issuerCacheKey(orgId, jwt.issuer), issuer.claims.tokenId);
  const name = learnedNameOf(jwt, issuer.claims.tokenId);
  if (!name) return INACTIVE;
  // The issuer's token-id claim was not the one guessed (a container that had not seen the issuer yet): looked up again.
  const seen = sameName(name, guessed) ? (learned ?? registered) : await findToken(orgId, hasher.lookupKeysOf(name));
  return introspectLearned(rawToken, name, issuer, seen, declared, now);
}

/** A registered token (or a learned one, once found and checked): the rules of its app and user, then its use recorded. */
async function introspectRegistered(token: Token, declared: ResourceServer | undefined, asAuthorizationServer: boolean, now: number): Promise<IntrospectionView> {
  // A declared resource server is shown only the tokens meant for it (or for any of the org's).
  if (declared && token.audience.length > 0 && !token.audience.includes(declared.audience)) return INACTIVE;
  // A refresh token is presented only to the authorization server: to a resource server it is no
  // credential (and not reuse either, which only a presentation to the AS would be).
  if (token.type === 'refresh' && !asAuthorizationServer) return INACTIVE;

  const { orgId } = token;
  const { grantIds, lookupKeys } = lineageKeys([token]);
  const ctx = await getTokenContext(orgId, token.appId, token.userId, lookupKeys, grantIds);
  const lineage = lineageAmong(ctx)(token);
  if (token.retiredAt !== null) {
    // An expired one is only inactive: it could not be presented any more, rotated or not.
    const presentable = isActive({ token: { ...token, retiredAt: null }, app: ctx.shard, user: ctx.user, orgUser: ctx.orgUser, lineage }, now);
    if (asAuthorizationServer && ctx.shard && presentable && !withinReuseGrace(token, ctx.shard.policies)) {
      await revokeGrant(token, now, iso(now), reuseEvent(token, orgId, now, 'introspection'));
    }
    return INACTIVE;
  }
  return recordedUse(token, ctx, lineage, now);
}

/** An active token's use recorded (the one write round trip), and its answer; inactive if it is not active, or the write finds it revoked since. */
async function recordedUse(token: Token, ctx: Pick<TokenContext, 'shard' | 'user' | 'orgUser'>, lineage: Lineage, now: number): Promise<IntrospectionView> {
  if (!isActive({ token, app: ctx.shard, user: ctx.user, orgUser: ctx.orgUser, lineage }, now) || !ctx.shard) return INACTIVE;
  return useRecorded(token, { shard: ctx.shard, user: ctx.user }, ctx.user?.userName ?? null, now);
}

/** The use of a token known to be active as read written, and its answer (inactive if the write finds it revoked since). */
async function useRecorded(token: Token, ctx: { shard: AppShard; user: AppUser | undefined }, userName: string | null, now: number): Promise<IntrospectionView> {
  const at = iso(now);
  const stale = (lastUsedAt: string | null | undefined) => !lastUsedAt || Date.parse(lastUsedAt) < now - LAST_USED_RESOLUTION_MS;
  const lastUse = ctx.user?.lastUsedAt;
  const [recorded] = await Promise.all([
    recordUse(token, at, stale(lastUse)),
    stale(ctx.shard.lastUsedAt) ? touchShardLastUsed(ctx.shard, at, iso(now - LAST_USED_RESOLUTION_MS)) : undefined,
    // The day's usage (GET …/usage): a figure, so a failure to count it is logged and the answer stands.
    countUse(token, at, !lastUse || dayOf(lastUse) < dayOf(at)).catch((error: unknown) => logger.warn('Could not count a use in the day\'s usage', { orgId: token.orgId, appId: token.appId, error })),
  ]);
  // The use's write found the token revoked (or gone) since it was read.
  if (!recorded) return INACTIVE;

  // Under expire-if-unused this use moves the expiry forward.
  const expiry = effectiveExpiry({ ...token, lastUsedAt: at }, ctx.shard.policies);
  return introspectionView(token, userName, expiry);
}

/** Attempts at a first sight that lost to a concurrent change before the answer is inactive (never an error: introspection fails closed). */
const LEARN_ATTEMPTS = 3;

/**
 * A JWT of a trusted issuer: its signature and the issuer's rules checked on every presentation;
 * seen before, the token stored then (which must be this issuer's, of the same client and user);
 * else learned now: its app created if missing, the app's registration rules applied (an
 * approved user, declared scopes; a refusal is inactive), then stored and counted at once.
 */
async function introspectLearned(rawToken: string, name: TokenName, issuer: TrustedIssuer, seen: Token | undefined, declared: ResourceServer | undefined, now: number): Promise<IntrospectionView> {
  const claims = await verifyLearned(issuer, rawToken, now);
  if (!claims || seen?.revokedAt) return INACTIVE;
  if (declared && claims.audience.length > 0 && !claims.audience.includes(declared.audience)) return INACTIVE;
  const { orgId } = issuer;
  let stored = seen;
  for (let attempt = 0; attempt < LEARN_ATTEMPTS; attempt += 1) {
    if (stored && (stored.revokedAt || stored.learnedFrom !== issuer.issuerId || stored.appId !== claims.appId || stored.userId !== claims.userId)) return INACTIVE;
    const ctx = await getTokenContext(orgId, claims.appId, claims.userId, [], [], { approval: !stored });
    if (revokedByTime(claims, issuer, ctx)) return INACTIVE;
    if (stored) return recordedUse(stored, ctx, NO_LINEAGE, now);
    if (issuedWhileBlocked(claims, issuer, ctx.orgUser)) return INACTIVE; // never learned (one learned before the block lives on)
    const app = ctx.shard;
    if (!app) {
      await createLearnedApp(issuer, claims.appId, now);
      continue;
    }
    if (app.blocked) return INACTIVE; // a blocked app learns nothing (its time watermark moves to the unblock)
    if (app.policies.permittedUsers === 'admin-approved-pre-authorized' && !isClientUser(claims.userId) && !ctx.approved) return INACTIVE;
    if (app.scopes.length > 0 && claims.scopes.some((scope) => !app.scopes.includes(scope))) return INACTIVE;
    const token = learnedToken(orgId, name, issuer, claims, { shard: app, user: ctx.user, orgUser: ctx.orgUser }, now);
    // Expired already under the app's policies (an access-token lifetime shorter than its age): not worth storing.
    const expiry = effectiveExpiry(token, app.policies);
    if (expiry !== null && expiry <= now) return INACTIVE;
    if (await storeLearned(token, name, issuer, { shard: app, user: ctx.user, orgUser: ctx.orgUser }, claims.userName, now)) return useRecorded(token, { shard: app, user: ctx.user }, claims.userName ?? ctx.user?.userName ?? null, now);
    stored = await findToken(orgId, hasher.lookupKeysOf(name)); // a concurrent first sight stored it, or something else changed
  }
  return INACTIVE;
}

/**
 * Whether a revocation of the token's user, app or user in every app (any since it was issued; an
 * app's unblock counts as one) takes it, by time: it
 * may never have been seen before, so the epochs it would be learned under say nothing. A trust
 * that began after an earlier one of its URL ended (or renamed its tokens) is such a watermark too. Issued
 * is its `iat` plus the issuer's known backdating; the issuer's clock is trusted to within
 * ISSUER_CLOCK_SKEW_S, and a tie revokes, so a token issued up to that long after a revocation is
 * revoked too (the README says so).
 */
function revokedByTime(claims: LearnedClaims, issuer: TrustedIssuer, ctx: Pick<TokenContext, 'shard' | 'user' | 'orgUser'>): boolean {
  const watermarks = [ctx.shard?.revokedAt, ctx.user?.revokedAt, ctx.orgUser.revokedAt, issuer.trustedSince].filter((at): at is string => typeof at === 'string').map(Date.parse);
  if (watermarks.length === 0) return false;
  return issuedAt(claims, issuer) <= Math.max(...watermarks) + ISSUER_CLOCK_SKEW_S * 1000;
}

/** When the issuer issued the token: its `iat` plus the issuer's known backdating. */
const issuedAt = (claims: LearnedClaims, issuer: TrustedIssuer) => claims.issuedAtMs + (issuer.preset ? presetRules[issuer.preset].backdatingSeconds : 0) * 1000;

/** Issued while its user was blocked (a tie within the issuer's clock skew, either side, counts as while): a token first seen now is never learned. */
function issuedWhileBlocked(claims: LearnedClaims, issuer: TrustedIssuer, orgUser: TokenContext['orgUser']): boolean {
  const issued = issuedAt(claims, issuer);
  const skew = ISSUER_CLOCK_SKEW_S * 1000;
  return orgUser.blockedWindows.some((w) => issued >= Date.parse(w.from) - skew && (w.to === null || issued <= Date.parse(w.to) + skew));
}

/** Each trusted issuer's token-id claim, by org and `iss`, as this container last read it: where the first round trip looks. */
const tokenIdClaims = new Map<string, string>();
const MAX_REMEMBERED_ISSUERS = 1000;
const issuerCacheKey = (orgId: string, iss: string) => `${orgId}\n${iss}`;
function remember(cache: Map<string, string>, key: string, value: string): void {
  if (cache.get(key) === value) return;
  cache.delete(key);
  if (cache.size >= MAX_REMEMBERED_ISSUERS) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}

/**
 * An active token's RFC 7662 §2.2 answer: `token_type` is the RFC 6749 §7.1 type an access token
 * is presented with (`DPoP` for one bound to a DPoP key, RFC 9449 §6.2), absent for a refresh
 * token, whose kind `token_use` says; `aud` a string for one audience (as JWT `aud` may be).
 */
function introspectionView(token: Token, userName: string | null, expiry: number | null): IntrospectionView {
  const { audience, cnf } = token;
  return {
    active: true,
    scope: token.scopes.join(' '),
    client_id: token.appId,
    ...(isClientUser(token.userId) ? {} : { sub: token.userId }),
    ...(userName ? { username: userName } : {}),
    ...(token.type === 'access' ? { token_type: cnf?.jkt ? 'DPoP' : 'Bearer' } as const : {}),
    token_use: token.type,
    ...(expiry === null ? {} : { exp: Math.floor(expiry / 1000) }),
    iat: Math.floor(Date.parse(token.issuedAt) / 1000),
    ...(audience.length === 0 ? {} : { aud: audience.length === 1 ? audience[0]! : audience }),
    ...(token.issuer ? { iss: token.issuer } : {}),
    ...(cnf ? { cnf } : {}),
  };
}

