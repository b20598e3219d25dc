/**
 * Learned tokens (contract section 9): a JWT access token of an issuer the org trusts, presented
 * to introspection, is checked against the issuer's keys and rules and, the first time it is
 * seen, stored like a registered token under (issuer, token id): its app (created when missing,
 * named by its client id), its user, its scopes and expiry. From then on it is a token like any
 * other. Nothing here trusts what a token says before its signature is checked, except its `iss`
 * and token id, which only choose where to look.
 */
import { jwtVerify, type JWTPayload } from 'jose';
import * as v from 'valibot';
import { activationWrites, countNewToken as countNewTokenOnApp, insertApp } from '../db/app.js';
import { countNewToken as countNewTokenOfUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { countLearnedWrite, issuerUnchangedCheck, ISSUER_SHARDS, type TrustedIssuer } from '../db/issuer.js';
import { orgUserSameCheck } from '../db/org-user.js';
import { createTokenWrites } from '../db/token.js';
import type { TokenContext } from '../db/token.js';
import { commitOrFailures } from '../db/unit-of-work.js';
import type { TokenName } from '../crypto.js';
import { issuerKeys } from '../jwks.js';
import { defaultPolicies } from '../schemas/policies.js';
import { confirmationSchema, type Confirmation } from '../schemas/tokens.js';
import { iso } from '../time.js';
import { CLIENT_USER_ID, type Token } from '../model.js';
import { auditEvent } from './audit.js';
import { hasher } from './hasher.js';
import { idOf, jwtTimeMs } from './learned-names.js';
import { presetRules } from './issuer-presets.js';
import { expiryAtRegistration, sweepDueAt } from './policies.js';
import { countedOnRow, userEpochForNew } from './rules.js';
import { newAppRecord } from './apps.js';

/** The issuer's clock is trusted to within this much: `exp`, `nbf` and `iat` are checked with it. */
export const ISSUER_CLOCK_SKEW_S = 60;
/** The algorithms a learned token may be signed with: asymmetric only (no `none`, no HMAC with a key the service would have to hold). */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** RFC 9068's `typ` of a JWT access token, in either spelling (media types compare case-insensitively). */
const AT_JWT = new Set(['at+jwt', 'application/at+jwt']);

/** What a verified token of a trusted issuer says, read by the issuer's claim names. */
export interface LearnedClaims {
  appId: string;
  /** CLIENT_USER_ID for a token of the app's own client. */
  userId: string;
  userName: string | null;
  scopes: string[];
  audience: string[];
  cnf: Confirmation | null;
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * Checks a JWT against the issuer's keys and rules: signed with an asymmetric algorithm by a key
 * of its JWKS, `iss` exactly the issuer, `exp` and `iat` present, `exp`/`nbf` within the clock
 * skew, `iat` not ahead of it, an access token (one of the audiences, or `typ: at+jwt`, or the
 * preset's own marker: never an ID token), a client id and (unless a client's token) a user id
 * that are ids. Undefined for any other token, and when the issuer's keys cannot be read.
 */
export async function verifyLearned(issuer: TrustedIssuer, rawToken: string, now: number): Promise<LearnedClaims | undefined> {
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    ({ payload, protectedHeader: { typ } } = await jwtVerify(rawToken, issuerKeys(issuer.jwksUri), {
      issuer: issuer.issuer, algorithms: ASYMMETRIC, requiredClaims: ['exp', 'iat'], clockTolerance: ISSUER_CLOCK_SKEW_S, currentDate: new Date(now),
      ...(issuer.audiences.length ? { audience: issuer.audiences } : {}),
    }));
  } catch {
    return undefined; // a bad token, or keys that could not be read: inactive either way (jwks.ts keeps a failing issuer fast)
  }
  const rules = issuer.preset ? presetRules[issuer.preset] : undefined;
  const [issuedAtMs, expiresAtMs] = [jwtTimeMs(payload.iat), jwtTimeMs(payload.exp)];
  if (issuedAtMs === undefined || expiresAtMs === undefined || issuedAtMs > now + ISSUER_CLOCK_SKEW_S * 1000) return undefined;
  if (issuer.audiences.length === 0 && !(typeof typ === 'string' && AT_JWT.has(typ.toLowerCase())) && !rules?.isAccessToken?.(payload)) return undefined;
  if (rules?.isAccessToken && !rules.isAccessToken(payload)) return undefined;
  const { claims } = issuer;
  const appId = idOf(payload[claims.client] ?? (rules?.clientFallbackClaim ? payload[rules.clientFallbackClaim] : undefined));
  if (appId === undefined) return undefined;
  // Without a preset, RFC 9068 §2.2: a token with no resource owner names its client as its subject
  // (the issuer is trusted to keep its users' subjects apart from its client ids; a preset says how its own tokens show).
  const ofClient = payload[claims.user] === undefined || (rules ? rules.isClientToken?.(payload) === true : payload[claims.user] === appId);
  const userId = ofClient ? CLIENT_USER_ID : idOf(payload[claims.user]);
  if (userId === undefined) return undefined;
  const userName = claims.userName === null || ofClient ? undefined : payload[claims.userName];
  return {
    appId, userId,
    userName: typeof userName === 'string' && userName.length <= 255 ? userName : null,
    scopes: scopesOf(payload[ofClient && rules?.clientScopeClaim ? rules.clientScopeClaim : claims.scope]),
    audience: [payload.aud ?? []].flat().filter((a): a is string => typeof a === 'string'),
    cnf: v.is(confirmationSchema, payload.cnf) ? payload.cnf : null,
    issuedAtMs,
    expiresAtMs,
  };
}

/** Scopes as issuers write them: one space-separated string (RFC 9068, Entra's `scp`) or an array (Okta's `scp`). */
function scopesOf(claim: unknown): string[] {
  const scopes = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
  return [...new Set(scopes.filter((s): s is string => typeof s === 'string' && s !== ''))];
}

/** The learned token as stored: registered under the epochs it was first seen under, issued when its `iat` says (never later than now). */
export function learnedToken(orgId: string, name: TokenName, issuer: TrustedIssuer, claims: LearnedClaims, ctx: Pick<TokenContext, 'user' | 'orgUser'> & { shard: NonNullable<TokenContext['shard']> }, now: number): Token {
  const { lookupKey, tokenId } = hasher.digest(name);
  const issuedAt = Math.min(now, claims.issuedAtMs);
  const issued: Omit<Token, 'dueAt'> = {
    orgId, appId: claims.appId, userId: claims.userId, lookupKey, tokenId, type: 'access', scopes: claims.scopes, issuedAt: iso(issuedAt),
    audience: claims.audience, issuer: issuer.issuer, learnedFrom: issuer.issuerId, cnf: claims.cnf,
    expiresAt: expiryAtRegistration('access', iso(claims.expiresAtMs), issuedAt, ctx.shard.policies), presentableUntil: iso(claims.expiresAtMs),
    refreshTokenId: null, grantId: null, retiredAt: null, successorId: null,
    appEpoch: ctx.shard.revokeEpoch, userEpoch: userEpochForNew(ctx.user, countedOnRow(ctx.user, ctx.shard.revokeEpoch, ctx.orgUser).offboarded), orgUserEpoch: ctx.orgUser.offboardEpoch, lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: null, policyEnded: false,
  };
  return { ...issued, dueAt: sweepDueAt(issued, ctx.shard.policies) };
}

/**
 * Stores a token seen for the first time, counted at once, in one transaction pinned to what was
 * read (the user row, the app shard, the issuer still trusted as read), and counts it on one of
 * the issuer's shards. False when anything changed since (a concurrent first sight of the same
 * token, a revocation, the issuer replaced or distrusted): read again.
 */
export async function storeLearned(token: Token, name: TokenName, issuer: TrustedIssuer, ctx: Pick<TokenContext, 'user' | 'orgUser'> & { shard: NonNullable<TokenContext['shard']> }, userName: string | null, now: number): Promise<boolean> {
  const { shard: app, user } = ctx;
  const { held, offboarded } = countedOnRow(user, app.revokeEpoch, ctx.orgUser);
  const ofUser = token.userId !== CLIENT_USER_ID;
  return (await commitOrFailures([
    ...createTokenWrites(token, hasher.contestedKeysOf(name)),
    ...countNewTokenOfUser(token, user, held, userName ?? undefined, 1, offboarded > 0),
    countNewTokenOnApp(app, (held === 0 && ofUser ? 1 : 0) - (offboarded > 0 && ofUser ? 1 : 0), app.revokeEpoch, 1 - offboarded),
    ...(app.active ? [] : activationWrites(token.orgId, token.appId, { except: app.shard })),
    countLearnedWrite(issuer, Math.floor(Math.random() * ISSUER_SHARDS), iso(now)),
    issuerUnchangedCheck(issuer),
    // A block, an unblock or an offboarding of the user that commits first makes the first sight read again.
    ...(ofUser ? [orgUserSameCheck(ctx.orgUser)] : []),
  ])) === null;
}

/**
 * The app of a client id first seen in a trusted issuer's token: created with that name and the
 * default policies, audited as the issuer's doing. Nothing when it exists already (another first
 * sight, or an admin, made it first).
 */
export async function createLearnedApp(issuer: TrustedIssuer, appId: string, now: number): Promise<void> {
  const app = newAppRecord(issuer.orgId, appId, { name: appId, description: null, contactEmail: null, callbackUrls: [], scopes: [], policies: defaultPolicies() }, now);
  const event = auditEvent({ orgId: issuer.orgId, sub: `issuer:${issuer.issuerId}` }, 'app.created', { appId, details: { name: app.name, policies: app.policies, learnedFrom: issuer.issuerId } }, now, 'system');
  await insertApp(app, [recordEvent(event)]);
}
