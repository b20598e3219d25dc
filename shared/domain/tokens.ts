import { activationWrites, countNewToken as countNewTokenOnApp, touchShardLastUsed } from '../db/app.js';
import { countNewToken as countNewTokenOfUser } from '../db/app-user.js';
import { createGrantWrite, joinGrantWrite, laterExpiry } from '../db/grant.js';
import { createTokenWrites, findToken, getToken, getTokenContext, getTokens, listUserTokens, parentCheckWrite, recordUse, retireWrite, storedUnderAnyVersion, type TokenContext } from '../db/token.js';
import { getIssuerByUrl, type TrustedIssuer } from '../db/issuer.js';
import type { ResourceServer } from '../db/resource-server.js';
import type { TokenName } from '../crypto.js';
import { commitOrFailures, type Write } from '../db/unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import {
  ConflictError, NotFoundError, ParentTokenInactiveError, RefreshTokenReusedError, ScopeNotAllowedError, TokenRevokedError, UserNotApprovedError, ValidationError,
} from '../errors.js';
import { stillApprovedWrite } from '../db/approved-user.js';
import type { Policies } from '../schemas/policies.js';
import type { RegisterTokenInput } from '../schemas/tokens.js';
import { CLIENT_USER_ID, isClientUser, type AppShard, type AppUser, type Grant, type Token } from '../model.js';
import { auditEvent } from './audit.js';
import { adoptLegacy, revokeGrant } from './grants.js';
import { hasher } from './hasher.js';
import { lineageAmong, lineageKeys, readLineages } from './lineage.js';
import { cursors, listAnswer } from './paging.js';
import { declaredResourceServer } from './resource-servers.js';
import { learnedNameOf, learnedToken, peekJwt, storeLearned, verifyLearned, createLearnedApp } from './learned-tokens.js';
import { effectiveExpiry, expiryAtRegistration, sweepDueAt } from './policies.js';
import { countsNow, grantRef, heldTokens, isActive, isRevoked, NO_LINEAGE, type Lineage } from './rules.js';
import type { TokenView } from '../api/usage.js';
import type { IntrospectionView, RegistrationView } from '../api/tokens.js';

export { hasher };

/** How far ahead a registered token's expiresAt may be. */
const MAX_EXPIRY_AHEAD_MS = 10 * 365.25 * 86_400_000;
/** How far from the service's clock the issuedAt an authorization server gives may be: its clock's skew ahead, an outbox's delay behind. */
const MAX_ISSUED_AHEAD_MS = 5 * 60_000;
const MAX_ISSUED_BEHIND_MS = 86_400_000;
/**
 * The contract allows an app's lastUsedAt to be about a minute behind; the by-last-use order of
 * an app's users is kept to the same resolution (the values shown stay exact).
 */
const LAST_USED_RESOLUTION_MS = 60_000;
/** The audit actor of refresh-token reuse detection (RFC 9700 §4.14.2). */
const REUSE_DETECTION = 'refresh-token-reuse-detection';

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** The registration body; `expiresAt` under the app's current policies (expire-immediately: = issuedAt). */
export function registrationView(token: Token, policies: Policies): RegistrationView {
  return {
    tokenId: token.tokenId, type: token.type, appId: token.appId, userId: isClientUser(token.userId) ? null : token.userId,
    issuedAt: token.issuedAt, expiresAt: isoOrNull(effectiveExpiry(token, policies)),
  };
}

/** What a member of a call names as its refresh token (an access token) or predecessor (a refresh token). */
type Link =
  | { field: string; rotation: boolean; member: number }
  | { field: string; rotation: boolean; lookupKeys: string[] };

interface Member {
  input: RegisterTokenInput;
  /** Where its fields are in the body: `body`, or `body.tokens.<n>`. */
  at: string;
  lookupKey: string;
  tokenId: string;
  /** Its lookup keys under every key version (an earlier version may hold it). */
  candidates: string[];
  /** Its keys under the versions another container may store it under now (checked empty when it is stored). */
  contested: string[];
  link: Link | undefined;
}

/**
 * Checks a call's members without reading anything: one app and user, distinct values, one
 * refresh token at most, parents and predecessors where they are allowed, earlier members named
 * before later ones. Every refusal is a 400 naming the field.
 */
function readMembers(inputs: RegisterTokenInput[], fieldOf: (n: number) => string, now: number): Member[] {
  const digests = inputs.map((input) => hasher.digest(input.token));
  let refreshAt: number | undefined;
  return inputs.map((input, n) => {
    const at = fieldOf(n);
    const fail = (field: string, message: string) => ValidationError.field(`${at}.${field}`, message);
    const first = inputs[0] as RegisterTokenInput;
    if (input.appId !== first.appId) throw fail('appId', 'must be the same for every token of the call (one grant)');
    if (input.userId !== first.userId) throw fail('userId', 'must be the same for every token of the call (one grant)');
    if (input.userName !== undefined && input.userId === undefined) throw fail('userName', 'is only allowed with userId (a token of the app\'s own client has no user)');
    if (inputs.findIndex((other) => other.token === input.token) < n) throw fail('token', 'is given twice in the call');
    if (input.issuedAt !== undefined && Date.parse(input.issuedAt) > now + MAX_ISSUED_AHEAD_MS) throw fail('issuedAt', 'must be at most 5 minutes ahead of the service\'s clock');
    if (input.issuedAt !== undefined && Date.parse(input.issuedAt) < now - MAX_ISSUED_BEHIND_MS) throw fail('issuedAt', 'must be at most 24 hours ago');
    if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now) throw fail('expiresAt', 'must be in the future');
    if (input.expiresAt !== undefined && Date.parse(input.expiresAt) > now + MAX_EXPIRY_AHEAD_MS) throw fail('expiresAt', 'must be at most ten years ahead');
    if (input.type === 'refresh') {
      if (refreshAt !== undefined) throw fail('type', 'a call holds at most one refresh token (a grant has one current refresh token)');
      refreshAt = n;
    }
    const [rotation, byValue, byId] = input.type === 'refresh'
      ? [true, 'previousRefreshToken', 'previousRefreshTokenId'] as const
      : [false, 'refreshToken', 'refreshTokenId'] as const;
    for (const field of ['refreshToken', 'refreshTokenId', 'previousRefreshToken', 'previousRefreshTokenId'] as const) {
      if (input[field] !== undefined && field !== byValue && field !== byId) throw fail(field, `is only allowed on ${input.type === 'refresh' ? 'access' : 'refresh'} tokens`);
    }
    if (input[byValue] !== undefined && input[byId] !== undefined) throw fail(byId, `give ${byValue} or ${byId}, not both`);
    const named = input[byValue] ?? input[byId];
    const field = input[byValue] !== undefined ? byValue : byId;
    let link: Link | undefined;
    if (named !== undefined) {
      const member = input[byValue] !== undefined ? inputs.findIndex((o) => o.token === named) : digests.findIndex((d) => d.tokenId === named);
      if (member === n) throw fail(field, 'names the token itself');
      if (member > n) throw fail(field, 'names a later token of the call: list the refresh token first');
      if (member >= 0 && inputs[member]?.type !== 'refresh') throw fail(field, 'names an access token of the call, not a refresh token');
      if (member >= 0) link = { field: `${at}.${field}`, rotation, member };
      else {
        // By id: only the canonical spelling names a token; any other finds nothing (409 below).
        const lookupKeys = input[byValue] !== undefined ? hasher.lookupKeysOf(named) : [hasher.lookupKeyOf(named)].filter((k): k is string => k !== undefined);
        link = { field: `${at}.${field}`, rotation, lookupKeys };
      }
    }
    const { lookupKey, tokenId } = digests[n] as { lookupKey: string; tokenId: string };
    return { input, at, lookupKey, tokenId, candidates: hasher.lookupKeysOf(input.token), contested: hasher.contestedKeysOf(input.token), link };
  });
}

export interface Registration {
  /** False when every token was registered already (a retry: 200). */
  created: boolean;
  registrations: RegistrationView[];
}

/**
 * POST /v1/tokens: one token, or the tokens of one grant at once, all or nothing (a code
 * exchange: a refresh token and its access token; a refresh grant: the new refresh token
 * retiring the one it replaces, and its access token). Two read round trips (the app shard, the
 * user, the tokens and the tokens they name; then those tokens' grants) and one transaction.
 * Idempotent on the raw values; refusals in the contract's order: a token that was revoked
 * (409 token-revoked), a parent or predecessor that is not an active refresh token of the same
 * app and user (409 parent-token-inactive), a predecessor rotated out already (reuse: the grant is
 * revoked, 409 refresh-token-reused), a user the app's policy wants approved and nobody did (403
 * user-not-approved), a scope the app does not declare (400 scope-not-allowed). Everything is pinned to what was read, so a revocation
 * that commits first makes the registration read again and refuse.
 */
export async function registerTokens(orgId: string, inputs: RegisterTokenInput[], fieldOf: (n: number) => string, now: number): Promise<Registration> {
  const members = readMembers(inputs, fieldOf, now);
  const { appId, userId = CLIENT_USER_ID } = inputs[0] as RegisterTokenInput;
  const ofClient = isClientUser(userId);
  const storedLinks = members.map((m) => (m.link && 'lookupKeys' in m.link ? m.link.lookupKeys : [])).flat();

  return retrying(async () => {
    const ctx = await getTokenContext(orgId, appId, userId, [...members.flatMap((m) => m.candidates), ...storedLinks], [], { approval: true });
    const app = ctx.shard;
    if (!app) throw new NotFoundError(`App ${appId}`);
    const existing = members.map((m) => storedUnderAnyVersion(m.candidates, ctx.tokens));
    const parents = members.map((m) => (m.link && 'lookupKeys' in m.link ? storedUnderAnyVersion(m.link.lookupKeys, ctx.tokens) : undefined));
    const known = [...existing, ...parents].filter((t): t is Token => t !== undefined);
    const lineageOf = await readLineages(orgId, known, ctx.tokens);

    // 1. token-revoked: a token of the call that was revoked, by any path.
    for (const [n, token] of existing.entries()) {
      if (token && (await isRevokedForGood(token, ctx, lineageOf))) throw new TokenRevokedError(`${members[n]!.at}.token`);
    }
    for (const [n, token] of existing.entries()) {
      if (!token) continue;
      if (token.appId !== appId || token.userId !== userId || token.type !== members[n]!.input.type) throw new ConflictError('This token is already registered for another app, user or type');
      // A retried rotation names the predecessor it retired; another one is not a retry.
      const link = members[n]!.link;
      if (link?.rotation && 'lookupKeys' in link && parents[n] && parents[n].successorId !== token.tokenId) throw new ConflictError(`${link.field} is not the refresh token this one replaced`);
    }
    const fresh = members.filter((_, n) => !existing[n]);
    if (fresh.length === 0) return { created: false, registrations: existing.map((t) => registrationView(t as Token, app.policies)) };

    // 2. parent-token-inactive / refresh-token-reused: what the new tokens name.
    const rotation = members.findIndex((m, n) => !existing[n] && m.link?.rotation === true && 'lookupKeys' in m.link);
    const predecessor = rotation >= 0 ? parents[rotation] : undefined;
    const checked = new Map<string, Token>(); // live refresh tokens the transaction must find unchanged
    for (const [n, member] of members.entries()) {
      const link = member.link;
      if (existing[n] || !link) continue;
      const parent = 'member' in link ? existing[link.member] : parents[n];
      if ('member' in link && !parent) continue; // a new member of this call: checked by its own writes
      const retiredHere = !link.rotation && parent !== undefined && parent === predecessor;
      if (!parent || !isLiveRefresh(parent, { appId, userId }, ctx, lineageOf(parent), now)) throw new ParentTokenInactiveError(link.field);
      if (parent.retiredAt !== null && !retiredHere) {
        if (!link.rotation || withinReuseGrace(parent, app.policies)) throw new ParentTokenInactiveError(link.field, 'was rotated out (replaced by its successor)');
        await revokeGrant(parent, now, iso(now), reuseEvent(parent, orgId, now, 'registration'));
        throw new RefreshTokenReusedError(link.field);
      }
      if (parent !== predecessor) checked.set(parent.lookupKey, parent);
    }

    // 3. user-not-approved, scope-not-allowed: the app's policy and settings.
    const approvalRequired = app.policies.permittedUsers === 'admin-approved-pre-authorized' && !ofClient;
    if (approvalRequired && !ctx.approved) throw new UserNotApprovedError(userId);
    if (app.scopes.length > 0) {
      for (const member of fresh) {
        const n = member.input.scopes.findIndex((scope) => !app.scopes.includes(scope));
        if (n >= 0) throw new ScopeNotAllowedError(`${member.at}.scopes.${n}`, member.input.scopes[n]!);
      }
    }

    // One grant: the one the named tokens (and any registered already) belong to, else a new one
    // rooted at the call's refresh token, else none (access tokens issued without a refresh token).
    const named = [...existing, ...parents].filter((t): t is Token => t !== undefined);
    const refs = [...new Set(named.map((t) => grantRef(t)?.grantId).filter((id): id is string => id !== undefined))];
    if (refs.length > 1) throw new ConflictError('The tokens of the call belong to different grants');
    const joined = refs[0];
    if (joined !== undefined && !ctx.grants.has(joined) && !lineageOf(named.find((t) => grantRef(t)?.grantId === joined)!).grant) {
      // Tokens an older version registered: their grant first, then the registration reads again.
      for (const token of named) await adoptLegacy(token, now);
      return RETRY;
    }
    const grant = joined === undefined ? undefined : lineageOf(named.find((t) => grantRef(t)?.grantId === joined)!).grant;
    const root = members.find((m, n) => !existing[n] && m.input.type === 'refresh');
    const grantId = joined ?? root?.tokenId ?? null;

    const user = ctx.user;
    const tokens = fresh.map((member): Token => {
      const link = member.link;
      const parent = link && 'member' in link ? members[link.member]! : undefined;
      // Every policy clock starts here, so a time ahead of ours (clock skew, up to 5 minutes) counts as now: never later than the registration.
      const issuedAt = member.input.issuedAt === undefined ? now : Math.min(now, Date.parse(member.input.issuedAt));
      const issued: Omit<Token, 'dueAt'> = {
        orgId, appId, userId, lookupKey: member.lookupKey, tokenId: member.tokenId, type: member.input.type, scopes: member.input.scopes, issuedAt: iso(issuedAt),
        audience: member.input.audience ?? [], issuer: member.input.issuer ?? null, learnedFrom: null, cnf: member.input.cnf ?? null,
        // The caller's expiry, capped by the access-token lifetime from its issue; refresh policies apply on top when read.
        expiresAt: expiryAtRegistration(member.input.type, member.input.expiresAt, issuedAt, app.policies),
        presentableUntil: member.input.expiresAt ?? null,
        // The parent's id as stored (a member registered before may be under an older key version).
        refreshTokenId: member.input.type === 'access' && link ? (link && 'member' in link ? (existing[link.member]?.tokenId ?? parent!.tokenId) : parents[members.indexOf(member)]!.tokenId) : null,
        grantId, retiredAt: null, successorId: null,
        appEpoch: app.revokeEpoch, userEpoch: user?.revokeEpoch ?? 0, lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: null, policyEnded: false,
      };
      return { ...issued, dueAt: sweepDueAt(issued, app.policies) };
    });
    // What the counters gain: the new tokens, less the refresh token the rotation retires.
    const retires = predecessor !== undefined && user !== undefined && countsNow(predecessor, user, app.revokeEpoch, lineageOf(predecessor)) ? 1 : 0;
    const gained = tokens.length - retires;
    const held = heldTokens(user, app.revokeEpoch);
    const latest = tokens.map((t) => t.expiresAt).reduce(laterExpiry);
    const at = iso(now);
    const writes: Write[] = [
      ...tokens.flatMap((token, n) => createTokenWrites(token, fresh[n]!.contested)),
      ...grantWrites(grant, grantId, tokens, gained, latest),
      ...(predecessor ? [retireWrite(predecessor, tokens.find((t) => t.type === 'refresh')!.tokenId, at)] : []),
      ...[...checked.values()].map(parentCheckWrite),
      // An approval withdrawn since it was read cancels the registration.
      ...(approvalRequired ? [stillApprovedWrite(orgId, appId, userId)] : []),
      // Stored and counted at once, pinned to what was read: the user row's count and epochs, the
      // shard's epoch and listing. A concurrent change cancels it, and the next attempt reads again.
      ...countNewTokenOfUser(tokens[0]!, user, held, inputs.find((i) => i.userName)?.userName, gained),
      countNewTokenOnApp(app, held === 0 && gained > 0 && !ofClient ? 1 : 0, app.revokeEpoch, gained),
      ...(app.active ? [] : activationWrites(orgId, appId, { except: app.shard })),
    ];
    if ((await commitOrFailures(writes)) !== null) return RETRY;
    const byKey = new Map(tokens.map((t) => [t.lookupKey, t]));
    return { created: true, registrations: members.map((m, n) => registrationView(existing[n] ?? byKey.get(m.lookupKey)!, app.policies)) };
  }, () => new ConflictError('The app, user or grant was changed concurrently too often; retry the request'));
}

/** The grant's write: a new grant with the call's tokens, or the grant they join moved on (none for tokens of no grant). */
function grantWrites(grant: Grant | undefined, grantId: string | null, tokens: Token[], gained: number, latest: string | null): Write[] {
  if (grantId === null) return [];
  if (grant) return [joinGrantWrite(grant, gained, latest)];
  const [first] = tokens as [Token];
  return [createGrantWrite({
    orgId: first.orgId, appId: first.appId, userId: first.userId, grantId, counted: tokens.length, appEpoch: first.appEpoch, userEpoch: first.userEpoch,
    revokedAt: null, version: 1, expiresAt: latest,
  })];
}

/** Whether a registered token was revoked (by its owner's watermarks, its grant, or a tombstone), read in its own app if it is another's. */
async function isRevokedForGood(token: Token, ctx: TokenContext, lineageOf: (t: Token) => Lineage): Promise<boolean> {
  if (token.revokedAt !== null) return true;
  if (token.appId === ctx.shard?.appId && token.userId === ctx.user?.userId) return isRevoked(token, ctx.shard.revokeEpoch, ctx.user, lineageOf(token));
  const keys = lineageKeys([token]);
  const owner = await getTokenContext(token.orgId, token.appId, token.userId, keys.lookupKeys, keys.grantIds);
  return !owner.shard || isRevoked(token, owner.shard.revokeEpoch, owner.user, lineageAmong(owner)(token));
}

/** A refresh token of this app and user that is live now (not revoked, not expired; it may be retired, which the caller decides on). */
function isLiveRefresh(token: Token, owner: { appId: string; userId: string }, ctx: TokenContext, lineage: Lineage, now: number): boolean {
  return token.type === 'refresh' && token.appId === owner.appId && token.userId === owner.userId
    && isActive({ token: { ...token, retiredAt: null }, app: ctx.shard, user: ctx.user, lineage }, now);
}

/**
 * Whether a rotated-out refresh token presented again is within the app's reuse grace: never with
 * a grace of 0 (any second successor is reuse, however the two requests interleaved), otherwise
 * for that long after it was retired, by the clock now (not the request's start).
 */
function withinReuseGrace(token: Token, policies: Policies): boolean {
  const graceMs = policies.refreshTokenReuseGraceSeconds * 1000;
  return graceMs > 0 && Date.now() - Date.parse(token.retiredAt ?? '') <= graceMs;
}

/** `grant.revoked`: a rotated-out refresh token was presented again. */
const reuseEvent = (token: Token, orgId: string, now: number, presentedTo: 'registration' | 'introspection') => auditEvent({ orgId, sub: REUSE_DETECTION }, 'grant.revoked', {
  appId: token.appId, userId: token.userId, tokenId: token.tokenId,
  details: { reason: 'refresh-token-reused', grantId: grantRef(token)?.grantId ?? token.tokenId, presentedTo, retiredAt: token.retiredAt },
}, now, 'system');

const INACTIVE = { active: false } as const;

/**
 * RFC 7662. Two sequential read round trips (the token by hash; then an app shard, the user and
 * the token's grant together) and one write round trip (the use, plus about once a minute per
 * shard the app's lastUsedAt). A rotated-out refresh token presented by the authorization server
 * (`asAuthorizationServer`: a caller that registers tokens) is reuse: its grant is revoked. A JWT
 * that was not registered by its value is looked up as a learned token of its issuer in the same
 * first round trip (with the issuer, if the org trusts it), and learned on first sight.
 */
export async function introspect(orgId: string, rawToken: string, now: number, { asAuthorizationServer, caller }: { asAuthorizationServer: boolean; caller: string }): Promise<IntrospectionView> {
  const jwt = peekJwt(rawToken);
  const rawKeys = hasher.lookupKeysOf(rawToken);
  const guessed = jwt && learnedNameOf(rawToken, jwt, tokenIdClaims.get(issuerCacheKey(orgId, jwt.issuer)) ?? 'jti');
  const learnedKeys = guessed && typeof guessed !== 'string' ? hasher.lookupKeysOf(guessed) : [];
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
  const name = learnedNameOf(rawToken, jwt, issuer.claims.tokenId);
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
    const presentable = isActive({ token: { ...token, retiredAt: null }, app: ctx.shard, user: ctx.user, lineage }, now);
    if (asAuthorizationServer && ctx.shard && presentable && !withinReuseGrace(token, ctx.shard.policies)) {
      await revokeGrant(token, now, iso(now), reuseEvent(token, orgId, now, 'introspection'));
    }
    return INACTIVE;
  }
  return recordedUse(token, ctx, lineage, now);
}

/** An active token's use recorded (the one write round trip), and its answer; inactive if it is not active, or the write finds it revoked since. */
async function recordedUse(token: Token, ctx: Pick<TokenContext, 'shard' | 'user'>, lineage: Lineage, now: number): Promise<IntrospectionView> {
  if (!isActive({ token, app: ctx.shard, user: ctx.user, lineage }, now) || !ctx.shard) return INACTIVE;
  return useRecorded(token, { shard: ctx.shard, user: ctx.user }, ctx.user?.userName ?? null, now);
}

/** The use of a token known to be active as read written, and its answer (inactive if the write finds it revoked since). */
async function useRecorded(token: Token, ctx: { shard: AppShard; user: AppUser | undefined }, userName: string | null, now: number): Promise<IntrospectionView> {
  const at = iso(now);
  const stale = (lastUsedAt: string | null | undefined) => !lastUsedAt || Date.parse(lastUsedAt) < now - LAST_USED_RESOLUTION_MS;
  const [recorded] = await Promise.all([
    recordUse(token, at, stale(ctx.user?.lastUsedAt)),
    stale(ctx.shard.lastUsedAt) ? touchShardLastUsed(ctx.shard, at, iso(now - LAST_USED_RESOLUTION_MS)) : undefined,
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
    if (stored) return recordedUse(stored, ctx, NO_LINEAGE, now);
    const app = ctx.shard;
    if (!app) {
      await createLearnedApp(issuer, claims.appId, now);
      continue;
    }
    if (app.policies.permittedUsers === 'admin-approved-pre-authorized' && !isClientUser(claims.userId) && !ctx.approved) return INACTIVE;
    if (app.scopes.length > 0 && claims.scopes.some((scope) => !app.scopes.includes(scope))) return INACTIVE;
    const token = learnedToken(orgId, name, issuer, claims, { shard: app, user: ctx.user }, now);
    // Expired already under the app's policies (an access-token lifetime shorter than its age): not worth storing.
    const expiry = effectiveExpiry(token, app.policies);
    if (expiry !== null && expiry <= now) return INACTIVE;
    if (await storeLearned(token, name, issuer, { shard: app, user: ctx.user }, claims.userName, now)) return useRecorded(token, { shard: app, user: ctx.user }, claims.userName ?? ctx.user?.userName ?? null, now);
    stored = await findToken(orgId, hasher.lookupKeysOf(name)); // a concurrent first sight stored it, or something else changed
  }
  return INACTIVE;
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
const sameName = (a: TokenName, b: TokenName | undefined) =>
  typeof a === 'string' ? a === b : typeof b !== 'string' && b !== undefined && a.issuer === b.issuer && a.tokenId === b.tokenId;

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

/** The tombstone of a revoked token, by its id (as stored), or undefined. */
export async function findTombstone(orgId: string, tokenId: string): Promise<Token | undefined> {
  const token = await getToken(orgId, hasher.storedLookupKeyOf(tokenId));
  return token?.revokedAt ? token : undefined;
}

export function tokenView(token: Token, policies: Policies): TokenView {
  return {
    tokenId: token.tokenId,
    type: token.type,
    scopes: token.scopes,
    issuedAt: token.issuedAt,
    expiresAt: isoOrNull(effectiveExpiry(token, policies)),
    lastUsedAt: token.lastUsedAt,
    useCount: token.useCount,
    refreshTokenId: token.refreshTokenId,
    grantId: grantRef(token)?.grantId ?? null,
    retiredAt: token.retiredAt,
  };
}

/**
 * GET /v1/apps/{appId}/users/{userId}/tokens: one Query for the page, then (in one round trip)
 * the app shard, the user row and the page's grants. Active tokens, and refresh tokens rotated
 * out that have not expired (`retiredAt` set: they count no more, and presenting one again is
 * reuse); tokens no longer active (revoked by a watermark or with their grant and awaiting
 * cleanup, or expired) are left out: a page may come back short.
 */
export async function listTokensOfUser(orgId: string, appId: string, userId: string, limit: number, cursor: string | undefined, now: number, { noneWithoutRow = false } = {}) {
  const list = `user-tokens\n${appId}\n${userId}`;
  const page = await listUserTokens(orgId, appId, userId, Math.min(limit, MAX_TOKENS_PER_PAGE), cursors.decode(orgId, list, cursor));
  const listed = new Map(page.items.map((t) => [t.lookupKey, t]));
  const { grantIds, lookupKeys } = lineageKeys(page.items);
  const ctx = await getTokenContext(orgId, appId, userId, lookupKeys.filter((k) => !listed.has(k)), grantIds);
  const { shard: app, user } = ctx;
  if (!app) throw new NotFoundError(`App ${appId}`);
  if (!user && noneWithoutRow) return { items: [], nextCursor: null };
  if (!user) throw new NotFoundError(`User ${userId} of app ${appId}`);
  const lineageOf = lineageAmong({ tokens: new Map([...listed, ...ctx.tokens]), grants: ctx.grants });
  const shown = (token: Token) => isActive({ token: { ...token, retiredAt: null }, app, user, lineage: lineageOf(token) }, now);
  return listAnswer(orgId, list, page, (t) => (shown(t) ? tokenView(t, app.policies) : undefined));
}

/** GET /v1/apps/{appId}/client-tokens: the app's own tokens (client credentials), as a user's are listed; none yet is an empty page. */
export const listClientTokens = (orgId: string, appId: string, limit: number, cursor: string | undefined, now: number) =>
  listTokensOfUser(orgId, appId, CLIENT_USER_ID, limit, cursor, now, { noneWithoutRow: true });

/**
 * A user-tokens page, its grants, the app shard and the user row fit one BatchGetItem (tokens
 * registered before grants also read their refresh token: such a page takes two, sent together).
 */
const MAX_TOKENS_PER_PAGE = 98;
