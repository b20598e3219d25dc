import { serviceKeys } from '../service-secret.js';
import { activationWrites, countNewToken as countNewTokenOnApp, touchShardLastUsed } from '../db/app.js';
import { countNewToken as countNewTokenOfUser } from '../db/app-user.js';
import { addChildWrite, createTokenWrite, findToken, getToken, getTokenContext, getTokens, listUserTokens, recordUse } from '../db/token.js';
import { commitOrFailures } from '../db/unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import { ConflictError, NotFoundError, TokenRevokedError, ValidationError } from '../errors.js';
import type { Policies } from '../schemas/policies.js';
import type { RegisterTokenInput } from '../schemas/tokens.js';
import { createTokenHasher } from '../crypto.js';
import type { Token } from '../model.js';
import { cursors } from './paging.js';
import { effectiveExpiry, expiryAtRegistration, sweepDueAt } from './policies.js';
import { heldTokens, isActive, isRevoked, parentOf, type Parents } from './rules.js';
import type { TokenView } from '../api/usage.js';
import type { IntrospectionView, RegistrationView } from '../api/tokens.js';

/** The service's token hasher (lookup keys and ids under every key version of the secret). */
export const hasher = createTokenHasher(serviceKeys);

/** How far ahead a registered token's expiresAt may be. */
const MAX_EXPIRY_AHEAD_MS = 10 * 365.25 * 86_400_000;
/**
 * The contract allows an app's lastUsedAt to be about a minute behind; the by-last-use order of
 * an app's users is kept to the same resolution (the values shown stay exact).
 */
const LAST_USED_RESOLUTION_MS = 60_000;

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** The registration body; `expiresAt` under the app's current policies (expire-immediately: = issuedAt). */
export function registrationView(token: Token, policies: Policies): RegistrationView {
  return {
    tokenId: token.tokenId, type: token.type, appId: token.appId, userId: token.userId,
    issuedAt: token.issuedAt, expiresAt: isoOrNull(effectiveExpiry(token, policies)),
  };
}

/**
 * POST /v1/tokens. Idempotent on the raw value: the same token for the same app, user and type
 * answers the stored registration (created: false); a token that was revoked stays revoked (409
 * token-revoked), and anything else is a conflict. An access token may name the refresh token it
 * came from, which must be active now, by the same rules as introspection.
 */
export async function registerToken(orgId: string, input: RegisterTokenInput, now: number): Promise<{ created: boolean; registration: RegistrationView }> {
  const { lookupKey, tokenId } = hasher.digest(input.token);
  // The same raw value may be stored under an earlier key version: every version's key is read.
  const candidates = hasher.lookupKeysOf(input.token);
  if (input.type === 'refresh' && input.refreshTokenId) {
    throw ValidationError.field('body.refreshTokenId', 'is only allowed on access tokens');
  }
  if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now) {
    throw ValidationError.field('body.expiresAt', 'must be in the future');
  }
  if (input.expiresAt !== undefined && Date.parse(input.expiresAt) > now + MAX_EXPIRY_AHEAD_MS) {
    throw ValidationError.field('body.expiresAt', 'must be at most ten years ahead');
  }
  const badParent = () => ValidationError.field('body.refreshTokenId', 'is not an active refresh token of this app and user');
  const parentKey = input.refreshTokenId === undefined ? undefined : hasher.lookupKeyOf(input.refreshTokenId);
  if (input.refreshTokenId !== undefined && (parentKey === undefined || candidates.includes(parentKey))) throw badParent();

  return retrying(async () => {
    const ctx = await getTokenContext(orgId, input.appId, input.userId, parentKey ? [...candidates, parentKey] : candidates);
    if (!ctx.shard) throw new NotFoundError(`App ${input.appId}`);

    const existing = candidates.map((k) => ctx.tokens.get(k)).find((t) => t !== undefined);
    if (existing) {
      const parents = await readParents(orgId, [existing], ctx.tokens);
      const owner = existing.appId === input.appId && existing.userId === input.userId ? ctx : await getTokenContext(orgId, existing.appId, existing.userId, []);
      if (!owner.shard || isRevoked(existing, owner.shard.revokeEpoch, owner.user, parentOf(existing, parents))) throw new TokenRevokedError();
      const same = existing.appId === input.appId && existing.userId === input.userId && existing.type === input.type;
      if (!same) throw new ConflictError('This token is already registered for another app, user or type');
      return { created: false, registration: registrationView(existing, ctx.shard.policies) };
    }

    const parent = parentKey ? ctx.tokens.get(parentKey) : undefined;
    if (parentKey && (!parent || parent.type !== 'refresh' || parent.appId !== input.appId || parent.userId !== input.userId
      || !isActive({ token: parent, app: ctx.shard, user: ctx.user, parent: undefined }, now))) {
      throw badParent();
    }

    const issued: Omit<Token, 'dueAt'> = {
      orgId,
      appId: input.appId,
      userId: input.userId,
      lookupKey,
      tokenId,
      type: input.type,
      scopes: input.scopes,
      issuedAt: iso(now),
      // The caller's expiry, capped by the access-token lifetime; refresh policies apply on top when read.
      expiresAt: expiryAtRegistration(input.type, input.expiresAt, now, ctx.shard.policies),
      presentableUntil: input.expiresAt ?? null,
      refreshTokenId: parent ? parent.tokenId : null,
      appEpoch: ctx.shard.revokeEpoch,
      userEpoch: ctx.user?.revokeEpoch ?? 0,
      lastUsedAt: null,
      useCount: 0,
      childCount: 0,
      revokedAt: null,
    };
    const token: Token = { ...issued, dueAt: sweepDueAt(issued, ctx.shard.policies) };
    // Stored and counted at once, pinned to what was read: the user row's count and epochs, the
    // shard's epoch and listing, the parent still live. A concurrent change (or a concurrent
    // registration of the same value) cancels it, and the next attempt reads again.
    const held = heldTokens(ctx.user, token.appEpoch);
    const failed = await commitOrFailures([
      createTokenWrite(token),
      ...countNewTokenOfUser(token, ctx.user, held, input.userName),
      countNewTokenOnApp(ctx.shard, held === 0 ? 1 : 0, token.appEpoch),
      ...(parent ? [addChildWrite(parent)] : []),
      ...(ctx.shard.active ? [] : activationWrites(orgId, input.appId, { except: ctx.shard.shard })),
    ]);
    if (failed === null) return { created: true, registration: registrationView(token, ctx.shard.policies) };
    return RETRY;
  }, () => new ConflictError('The app or user was changed concurrently too often; retry the request'));
}

/** The lookup key of the refresh token an access token was registered from (undefined: none). */
export const parentKeyOf = (token: Token) => (token.refreshTokenId === null ? undefined : hasher.storedLookupKeyOf(token.refreshTokenId));

/** The tombstone of a revoked token, by its id (as stored), or undefined. */
export async function findTombstone(orgId: string, tokenId: string): Promise<Token | undefined> {
  const token = await getToken(orgId, hasher.storedLookupKeyOf(tokenId));
  return token?.revokedAt ? token : undefined;
}

/**
 * The refresh tokens (or their tombstones) that `children` were registered from, by the id each
 * child stores, among tokens already read (by lookup key); a parent not among them is gone.
 */
export function parentsAmong(children: Token[], read: Map<string, Token>): Parents {
  const parents: Parents = new Map();
  for (const child of children) {
    const parent = read.get(parentKeyOf(child) ?? '');
    if (child.refreshTokenId !== null && parent) parents.set(child.refreshTokenId, parent);
  }
  return parents;
}

/** The same, reading (in one round trip) the parents not among `known`. */
export async function readParents(orgId: string, children: Token[], known: Map<string, Token> = new Map()): Promise<Parents> {
  const missing = children.map(parentKeyOf).filter((k): k is string => k !== undefined && !known.has(k));
  const fetched = missing.length ? await getTokens(orgId, missing) : [];
  return parentsAmong(children, new Map([...known, ...fetched.map((t) => [t.lookupKey, t] as const)]));
}

const INACTIVE = { active: false } as const;

/**
 * RFC 7662. Two sequential read round trips (the token by hash; then an app shard, the user and the parent refresh
 * token together) and one write round trip (the use, plus about once a minute per shard the app's lastUsedAt).
 */
export async function introspect(orgId: string, rawToken: string, now: number): Promise<IntrospectionView> {
  const token = await findToken(orgId, hasher.lookupKeysOf(rawToken));
  if (!token || token.revokedAt) return INACTIVE;

  const parentKey = parentKeyOf(token);
  const ctx = await getTokenContext(orgId, token.appId, token.userId, parentKey ? [parentKey] : []);
  const parent = parentKey ? ctx.tokens.get(parentKey) : undefined;
  if (!isActive({ token, app: ctx.shard, user: ctx.user, parent }, now) || !ctx.shard) return INACTIVE;

  const at = iso(now);
  const stale = (lastUsedAt: string | null | undefined) => !lastUsedAt || Date.parse(lastUsedAt) < now - LAST_USED_RESOLUTION_MS;
  await Promise.all([
    recordUse(token, at, stale(ctx.user?.lastUsedAt)),
    stale(ctx.shard.lastUsedAt) ? touchShardLastUsed(ctx.shard, at, iso(now - LAST_USED_RESOLUTION_MS)) : undefined,
  ]);

  // Under expire-if-unused this use moves the expiry forward.
  const expiry = effectiveExpiry({ ...token, lastUsedAt: at }, ctx.shard.policies);
  return {
    active: true,
    scope: token.scopes.join(' '),
    client_id: token.appId,
    sub: token.userId,
    ...(ctx.user?.userName ? { username: ctx.user.userName } : {}),
    token_type: token.type === 'access' ? 'access_token' : 'refresh_token',
    ...(expiry === null ? {} : { exp: Math.floor(expiry / 1000) }),
    iat: Math.floor(Date.parse(token.issuedAt) / 1000),
  };
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
  };
}

/**
 * GET /v1/apps/{appId}/users/{userId}/tokens: one Query for the page, then one BatchGetItem for
 * the app shard, the user row and the refresh tokens the page's access tokens came from (so a
 * page holds at most 98 tokens). Tokens that are no longer active (revoked by a watermark or with
 * their refresh token and awaiting cleanup, or expired) are left out: a page may come back short.
 */
export async function listTokensOfUser(orgId: string, appId: string, userId: string, limit: number, cursor: string | undefined, now: number) {
  const list = `user-tokens\n${appId}\n${userId}`;
  const page = await listUserTokens(orgId, appId, userId, Math.min(limit, MAX_TOKENS_PER_PAGE), cursors.decode(orgId, list, cursor));
  const listed = new Map(page.items.map((t) => [t.lookupKey, t]));
  const parentKeys = page.items.map(parentKeyOf).filter((k): k is string => k !== undefined && !listed.has(k));
  const { shard: app, user, tokens } = await getTokenContext(orgId, appId, userId, parentKeys);
  if (!app) throw new NotFoundError(`App ${appId}`);
  if (!user) throw new NotFoundError(`User ${userId} of app ${appId}`);
  const parents = parentsAmong(page.items, new Map([...listed, ...tokens]));
  return {
    items: page.items.filter((token) => isActive({ token, app, user, parent: parentOf(token, parents) }, now)).map((t) => tokenView(t, app.policies)),
    nextCursor: cursors.encode(orgId, list, page.lastKey),
  };
}

/** A user-tokens page and its parents fit one BatchGetItem with the app shard and the user row. */
const MAX_TOKENS_PER_PAGE = 98;
