import { activationWrites, countNewToken as countNewTokenOnApp } from '../db/app.js';
import { countNewToken as countNewTokenOfUser } from '../db/app-user.js';
import { createGrantWrite, joinGrantWrite, laterExpiry } from '../db/grant.js';
import { getIssuerByUrl, issuerUnchangedCheck, type TrustedIssuer } from '../db/issuer.js';
import type { TokenName } from '../crypto.js';
import { createTokenWrites, getToken, getTokenContext, listUserTokens, parentCheckWrite, retireWrite, storedUnderAnyVersion, type TokenContext } from '../db/token.js';
import { commitOrFailures, type Write } from '../db/unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import {
  AppBlockedError, UserBlockedError, ConflictError, IssuerNotTrustedError, NotFoundError, ParentTokenInactiveError, RefreshTokenReusedError, ScopeNotAllowedError, TokenRevokedError, UserNotApprovedError, ValidationError,
} from '../errors.js';
import { stillApprovedWrite } from '../db/approved-user.js';
import { orgUserUnchangedCheck } from '../db/org-user.js';
import type { Policies } from '../schemas/policies.js';
import type { RegisterTokenInput } from '../schemas/registration.js';
import { CLIENT_USER_ID, isClientUser, type Grant, type Token } from '../model.js';
import { adoptLegacy, revokeGrant, reuseEvent, withinReuseGrace } from './grants.js';
import { hasher } from './hasher.js';
import { lineageAmong, lineageKeys, readLineages } from './lineage.js';
import { cursors, listAnswer } from './paging.js';
import { effectiveExpiry, expiryAtRegistration, sweepDueAt } from './policies.js';
import { countsNow, grantRef, countedOnRow, userEpochForNew, isActive, isRevoked, offboarded, type Lineage } from './rules.js';
import type { TokenView } from '../api/usage.js';
import type { RegistrationView } from '../api/tokens.js';

export { hasher };

/** How far ahead a registered token's expiresAt may be. */
const MAX_EXPIRY_AHEAD_MS = 10 * 365.25 * 86_400_000;
/** How far from the service's clock the issuedAt an authorization server gives may be: its clock's skew ahead, an outbox's delay behind. */
const MAX_ISSUED_AHEAD_MS = 5 * 60_000;
const MAX_ISSUED_BEHIND_MS = 86_400_000;

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
  /** What it is stored by: its raw value, or (`issuer` + `jti`) the learned token it will be when presented. */
  name: TokenName;
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
  const names = inputs.map((input, n) => nameOf(input, fieldOf(n)));
  const digests = names.map((name) => hasher.digest(name));
  let refreshAt: number | undefined;
  return inputs.map((input, n) => {
    const at = fieldOf(n);
    const name = names[n] as TokenName;
    const fail = (field: string, message: string) => ValidationError.field(`${at}.${field}`, message);
    const first = inputs[0] as RegisterTokenInput;
    if (input.appId !== first.appId) throw fail('appId', 'must be the same for every token of the call (one grant)');
    if (input.userId !== first.userId) throw fail('userId', 'must be the same for every token of the call (one grant)');
    if (input.userName !== undefined && input.userId === undefined) throw fail('userName', 'is only allowed with userId (a token of the app\'s own client has no user)');
    // Compared by what each is stored under: two spellings of one JWT are one token.
    if (digests.findIndex((other) => other.lookupKey === digests[n]!.lookupKey) < n) throw fail(input.token === undefined ? 'jti' : 'token', 'is given twice in the call');
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
      const namedKey = input[byValue] !== undefined ? hasher.digest(named).lookupKey : undefined;
      const member = namedKey !== undefined ? digests.findIndex((d) => d.lookupKey === namedKey) : digests.findIndex((d) => d.tokenId === named);
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
    return { input, name, at, lookupKey, tokenId, candidates: hasher.lookupKeysOf(name), contested: hasher.contestedKeysOf(name), link };
  });
}

/** A member's name: its raw value, or a JWT of a trusted issuer by its id; a 400 naming the field when it gives neither, or both. */
function nameOf(input: RegisterTokenInput, at: string): TokenName {
  const fail = (field: string, message: string) => ValidationError.field(`${at}.${field}`, message);
  if (input.token !== undefined) {
    if (input.jti !== undefined) throw fail('jti', 'give token or jti (with issuer), not both');
    return input.token;
  }
  if (input.jti === undefined) throw fail('token', 'is required (or issuer and jti, for a JWT of a trusted issuer known by its id)');
  if (input.issuer === undefined) throw fail('issuer', 'is required with jti');
  if (input.type !== 'access') throw fail('type', 'a token registered by its id is an access token (only access tokens are learned)');
  return { issuer: input.issuer, tokenId: input.jti };
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
 * (409 token-revoked), a blocked app (409 app-blocked), a blocked user (409 user-blocked), a parent or predecessor that is not an active refresh token of the same
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

  // Members registered by id name one issuer each, which the org must trust (read beside the context: no round trip of its own).
  const byId = members.filter((m) => typeof m.name !== 'string');
  return retrying(async () => {
    const [ctx, issuers] = await Promise.all([
      getTokenContext(orgId, appId, userId, [...members.flatMap((m) => m.candidates), ...storedLinks], [], { approval: true }),
      Promise.all([...new Set(byId.map((m) => m.input.issuer as string))].map((url) => getIssuerByUrl(orgId, url))),
    ]);
    const trusted = new Map(issuers.filter((i): i is TrustedIssuer => i !== undefined).map((i) => [i.issuer, i]));
    for (const member of byId) if (!trusted.has(member.input.issuer as string)) throw new IssuerNotTrustedError(`${member.at}.issuer`, member.input.issuer as string);
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
    // 2. app-blocked: a block raised the epoch every shard is pinned to, so a registration that read before it reads again and lands here.
    if (app.blocked) throw new AppBlockedError(appId);
    // 3. user-blocked: in every app; the user's org-wide item is pinned below, so a block that commits first wins.
    if (ctx.orgUser.blocked) throw new UserBlockedError(userId);
    for (const [n, token] of existing.entries()) {
      if (!token) continue;
      if (token.appId !== appId || token.userId !== userId || token.type !== members[n]!.input.type) throw new ConflictError('This token is already registered for another app, user or type');
      // A retried rotation names the predecessor it retired; another one is not a retry.
      const link = members[n]!.link;
      if (link?.rotation && 'lookupKeys' in link && parents[n] && parents[n].successorId !== token.tokenId) throw new ConflictError(`${link.field} is not the refresh token this one replaced`);
    }
    const fresh = members.filter((_, n) => !existing[n]);
    if (fresh.length === 0) return { created: false, registrations: existing.map((t) => registrationView(t as Token, app.policies)) };

    // 4. parent-token-inactive / refresh-token-reused: what the new tokens name.
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

    // 5. user-not-approved, scope-not-allowed: the app's policy and settings.
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
    const { held, offboarded } = countedOnRow(user, app.revokeEpoch, ctx.orgUser);
    const learnedFrom = (member: Member) => (typeof member.name === 'string' ? null : trusted.get(member.name.issuer)!.issuerId);
    const tokens = fresh.map((member): Token => {
      const link = member.link;
      const parent = link && 'member' in link ? members[link.member]! : undefined;
      // Every policy clock starts here, so a time ahead of ours (clock skew, up to 5 minutes) counts as now: never later than the registration.
      const issuedAt = member.input.issuedAt === undefined ? now : Math.min(now, Date.parse(member.input.issuedAt));
      const issued: Omit<Token, 'dueAt'> = {
        orgId, appId, userId, lookupKey: member.lookupKey, tokenId: member.tokenId, type: member.input.type, scopes: member.input.scopes, issuedAt: iso(issuedAt),
        audience: member.input.audience ?? [], issuer: member.input.issuer ?? null, learnedFrom: learnedFrom(member), cnf: member.input.cnf ?? null,
        // The caller's expiry, capped by the access-token lifetime from its issue; refresh policies apply on top when read.
        expiresAt: expiryAtRegistration(member.input.type, member.input.expiresAt, issuedAt, app.policies),
        presentableUntil: member.input.expiresAt ?? null,
        // The parent's id as stored (a member registered before may be under an older key version).
        refreshTokenId: member.input.type === 'access' && link ? (link && 'member' in link ? (existing[link.member]?.tokenId ?? parent!.tokenId) : parents[members.indexOf(member)]!.tokenId) : null,
        grantId, retiredAt: null, successorId: null,
        appEpoch: app.revokeEpoch, userEpoch: userEpochForNew(user, offboarded), orgUserEpoch: ctx.orgUser.offboardEpoch, lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: null, policyEnded: false,
      };
      return { ...issued, dueAt: sweepDueAt(issued, app.policies) };
    });
    // What the counters gain: the new tokens, less the refresh token the rotation retires.
    const retires = predecessor !== undefined && user !== undefined && countsNow(predecessor, user, app.revokeEpoch, lineageOf(predecessor)) ? 1 : 0;
    const gained = tokens.length - retires;
    const latest = tokens.map((t) => t.expiresAt).reduce(laterExpiry);
    const at = iso(now);
    const writes: Write[] = [
      ...tokens.flatMap((token, n) => createTokenWrites(token, fresh[n]!.contested)),
      ...grantWrites(grant, grantId, tokens, gained, latest),
      ...(predecessor ? [retireWrite(predecessor, tokens.find((t) => t.type === 'refresh')!.tokenId, at)] : []),
      ...[...checked.values()].map(parentCheckWrite),
      // An approval withdrawn since it was read cancels the registration; so does a trusted issuer replaced or distrusted since.
      ...(approvalRequired ? [stillApprovedWrite(orgId, appId, userId)] : []),
      // A block or an offboarding of the user since it was read cancels it too.
      ...(ofClient ? [] : [orgUserUnchangedCheck(ctx.orgUser)]),
      ...[...trusted.values()].map(issuerUnchangedCheck),
      // Stored and counted at once, pinned to what was read: the user row's count and epochs, the
      // shard's epoch and listing. A concurrent change cancels it, and the next attempt reads again.
      ...countNewTokenOfUser(tokens[0]!, user, held, inputs.find((i) => i.userName)?.userName, gained, offboarded > 0),
      countNewTokenOnApp(app, (held === 0 && gained > 0 && !ofClient ? 1 : 0) - (offboarded > 0 && !ofClient ? 1 : 0), app.revokeEpoch, gained - offboarded),
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
  if (token.appId === ctx.shard?.appId && token.userId === ctx.user?.userId) return isRevoked(token, ctx.shard.revokeEpoch, ctx.user, lineageOf(token)) || offboarded(token, ctx.orgUser);
  const keys = lineageKeys([token]);
  const owner = await getTokenContext(token.orgId, token.appId, token.userId, keys.lookupKeys, keys.grantIds);
  return !owner.shard || isRevoked(token, owner.shard.revokeEpoch, owner.user, lineageAmong(owner)(token)) || offboarded(token, owner.orgUser);
}

/** A refresh token of this app and user that is live now (not revoked, not expired; it may be retired, which the caller decides on). */
function isLiveRefresh(token: Token, owner: { appId: string; userId: string }, ctx: TokenContext, lineage: Lineage, now: number): boolean {
  return token.type === 'refresh' && token.appId === owner.appId && token.userId === owner.userId
    && isActive({ token: { ...token, retiredAt: null }, app: ctx.shard, user: ctx.user, orgUser: ctx.orgUser, lineage }, now);
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
    learnedFrom: token.learnedFrom,
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
  const shown = (token: Token) => isActive({ token: { ...token, retiredAt: null }, app, user, orgUser: ctx.orgUser, lineage: lineageOf(token) }, now);
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
