import { serviceSecret } from '../config.js';
import { deactivateIfIdle, touchShardLastUsed } from '../db/apps.js';
import { getToken, getTokenContext, insertToken, listChildTokens, listUserTokens, MAX_TOKENS_PER_REVOKE, recordUse, revokeTokens } from '../db/tokens.js';
import { backoff } from '../db/items.js';
import { chunk } from '../db/revocations.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Policies } from '../schemas/apps.js';
import type { RegisterTokenInput } from '../schemas/tokens.js';
import { createTokenHasher } from '../crypto.js';
import { auditEvent } from './audit.js';
import type { Actor, AuditEvent, Token } from './model.js';
import { cursors } from './paging.js';
import { effectiveExpiry, expiryAtRegistration, sweepDueAt } from './policies.js';
import { isActive } from './rules.js';

const hasher = createTokenHasher(serviceSecret);

/** Optimistic retries when a concurrent write changed what we read; each retry re-reads. */
const MAX_ATTEMPTS = 8;
/**
 * The contract allows an app's lastUsedAt to be about a minute behind; the by-last-use order of
 * an app's users is kept to the same resolution (the values shown stay exact).
 */
const LAST_USED_RESOLUTION_MS = 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The registration body; `expiresAt` under the app's current policies (expire-immediately: = issuedAt). */
export function registrationView(token: Token, policies: Policies) {
  return {
    tokenId: token.tokenId, type: token.type, appId: token.appId, userId: token.userId,
    issuedAt: token.issuedAt, expiresAt: iso(effectiveExpiry(token, policies)),
  };
}

/**
 * POST /v1/tokens. Idempotent on the raw value: the same token for the same app, user and type
 * answers the stored registration (created: false); for anything else it is a conflict.
 */
export async function registerToken(orgId: string, input: RegisterTokenInput, now: number): Promise<{ created: boolean; registration: ReturnType<typeof registrationView> }> {
  const { lookupKey, tokenId } = hasher.digest(input.token);
  if (input.type === 'refresh' && input.refreshTokenId) {
    throw ValidationError.field('body.refreshTokenId', 'is only allowed on access tokens');
  }
  if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now) {
    throw ValidationError.field('body.expiresAt', 'must be in the future');
  }
  const parentKey = input.refreshTokenId ? hasher.lookupKeyOf(input.refreshTokenId) : undefined;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const ctx = await getTokenContext(orgId, input.appId, input.userId, parentKey ? [lookupKey, parentKey] : [lookupKey]);
    if (!ctx.app) throw new NotFoundError(`App ${input.appId}`);

    const existing = ctx.tokens.get(lookupKey);
    if (existing) {
      const same = existing.appId === input.appId && existing.userId === input.userId && existing.type === input.type;
      if (!same) throw new ConflictError('This token is already registered for another app, user or type');
      const revoked = existing.revokedAt !== null || existing.appEpoch < ctx.app.revokeEpoch || existing.userEpoch < (ctx.user?.revokeEpoch ?? 0);
      if (revoked) throw new ConflictError('This token has been revoked');
      return { created: false, registration: registrationView(existing, ctx.app.policies) };
    }

    const parent = parentKey ? ctx.tokens.get(parentKey) : undefined;
    if (parentKey && (!parent || parent.type !== 'refresh' || parent.appId !== input.appId || parent.userId !== input.userId || parent.revokedAt)) {
      throw ValidationError.field('body.refreshTokenId', 'is not a registered, unrevoked refresh token of this app and user');
    }

    const issued: Omit<Token, 'dueAt'> = {
      orgId,
      appId: input.appId,
      userId: input.userId,
      lookupKey,
      tokenId,
      type: input.type,
      scopes: input.scopes,
      issuedAt: new Date(now).toISOString(),
      // The caller's expiry, capped by the access-token lifetime; refresh policies apply on top when read.
      expiresAt: expiryAtRegistration(input.type, input.expiresAt, now, ctx.app.policies),
      refreshTokenId: input.refreshTokenId ?? null,
      appEpoch: ctx.app.revokeEpoch,
      userEpoch: ctx.user?.revokeEpoch ?? 0,
      lastUsedAt: null,
      useCount: 0,
      revokedAt: null,
    };
    const token: Token = { ...issued, dueAt: sweepDueAt(issued, ctx.app.policies) };
    const result = await insertToken(token, ctx.app, ctx.user, input.userName);
    if (result === 'inserted') return { created: true, registration: registrationView(token, ctx.app.policies) };
    // 'token-exists' (a concurrent registration of the same value) or 'stale': re-read.
  }
  throw new ConflictError('The app or user was changed concurrently too often; retry the request');
}

export type IntrospectionResponse =
  | { active: false }
  | { active: true; scope: string; client_id: string; sub: string; username?: string; token_type: 'access_token' | 'refresh_token'; exp?: number; iat: number };

const INACTIVE = { active: false } as const;

/**
 * RFC 7662. Two sequential read round trips (the token by hash; then an app shard, the user and the parent refresh
 * token together) and one write round trip (the use, plus about once a minute per shard the app's lastUsedAt).
 */
export async function introspect(orgId: string, rawToken: string, now: number): Promise<IntrospectionResponse> {
  const { lookupKey } = hasher.digest(rawToken);
  const token = await getToken(orgId, lookupKey);
  if (!token || token.revokedAt) return INACTIVE;

  const parentKey = token.refreshTokenId ? hasher.lookupKeyOf(token.refreshTokenId) : undefined;
  const ctx = await getTokenContext(orgId, token.appId, token.userId, parentKey ? [parentKey] : []);
  const parent = parentKey ? ctx.tokens.get(parentKey) : undefined;
  if (!isActive({ token, app: ctx.app, user: ctx.user, parent }, now) || !ctx.app) return INACTIVE;

  const at = new Date(now).toISOString();
  const stale = (lastUsedAt: string | null | undefined) => !lastUsedAt || Date.parse(lastUsedAt) < now - LAST_USED_RESOLUTION_MS;
  await Promise.all([
    recordUse(token, at, stale(ctx.user?.lastUsedAt)),
    stale(ctx.app.lastUsedAt) ? touchShardLastUsed(ctx.app, at, new Date(now - LAST_USED_RESOLUTION_MS).toISOString()) : undefined,
  ]);

  // Under expire-if-unused this use moves the expiry forward.
  const expiry = effectiveExpiry({ ...token, lastUsedAt: at }, ctx.app.policies);
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

/** RFC 7009: revokes the token if this org knows it; unknown tokens are not an error. */
export async function revokeRawToken(orgId: string, rawToken: string, now: number): Promise<void> {
  const token = await getToken(orgId, hasher.digest(rawToken).lookupKey);
  if (token && !token.revokedAt) await revokeToken(token, now);
}

/**
 * DELETE /v1/apps/{appId}/users/{userId}/tokens/{tokenId}: an admin revokes one token (and, for a
 * refresh token, the access tokens registered from it), recorded as `token.revoked`. A token of
 * another app, user or org is a 404, as is one already revoked.
 */
export async function revokeTokenById(actor: Actor, appId: string, userId: string, tokenId: string, now: number): Promise<void> {
  const token = await getToken(actor.orgId, hasher.lookupKeyOf(tokenId));
  if (!token || token.appId !== appId || token.userId !== userId || token.revokedAt) throw new NotFoundError(`Token ${tokenId}`);
  await revokeToken(token, now, auditEvent(actor, 'token.revoked', { appId, userId, tokenId, details: { type: token.type } }, now));
}

/**
 * Revokes one token and uncounts it; a refresh token takes the access tokens registered from it
 * along (they are dead at once through the tombstone, and deleted and uncounted here). `event`
 * is recorded with the named token's revocation.
 */
export async function revokeToken(token: Token, now: number, event?: AuditEvent): Promise<void> {
  const at = new Date(now).toISOString();
  const children = token.type === 'refresh' ? await listChildTokens(token) : [];
  // The refresh token goes first, alone: from then on its access tokens introspect as inactive.
  let userIdle = false;
  for (const batch of [[token.lookupKey], ...chunk(children.map((c) => c.lookupKey), MAX_TOKENS_PER_REVOKE)]) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const ctx = await getTokenContext(token.orgId, token.appId, token.userId, batch);
      const live = [...ctx.tokens.values()].filter((t) => !t.revokedAt);
      const named = batch[0] === token.lookupKey;
      const result = ctx.user && ctx.app ? await revokeTokens(ctx.user, live, ctx.app.revokeEpoch, at, { event: named ? event : undefined }) : 'revoked';
      if (result !== 'stale') {
        userIdle ||= result === 'user-idle';
        break;
      }
      if (attempt >= MAX_ATTEMPTS) throw new ConflictError('The user was changed concurrently too often; retry the request');
    }
  }
  // Only a user going idle can leave the app without active tokens.
  if (userIdle) await deactivateIfIdle(token.orgId, token.appId);
}

export function tokenView(token: Token, policies: Policies) {
  return {
    tokenId: token.tokenId,
    type: token.type,
    scopes: token.scopes,
    issuedAt: token.issuedAt,
    expiresAt: iso(effectiveExpiry(token, policies)),
    lastUsedAt: token.lastUsedAt,
    useCount: token.useCount,
    refreshTokenId: token.refreshTokenId,
  };
}

/**
 * GET /v1/apps/{appId}/users/{userId}/tokens: one Query per page (plus the app and user rows in
 * one BatchGetItem, in parallel). Tokens that are no longer active (revoked by a watermark and
 * awaiting cleanup, or expired) are left out.
 */
export async function listTokensOfUser(orgId: string, appId: string, userId: string, limit: number, cursor: string | undefined, now: number) {
  const list = `user-tokens\n${appId}\n${userId}`;
  const startKey = cursors.decode(orgId, list, cursor);
  const [{ app, user }, page] = await Promise.all([
    getTokenContext(orgId, appId, userId, []),
    listUserTokens(orgId, appId, userId, limit, startKey),
  ]);
  if (!app) throw new NotFoundError(`App ${appId}`);
  if (!user) throw new NotFoundError(`User ${userId} of app ${appId}`);
  return {
    items: page.items.filter((token) => isActive({ token, app, user, parent: undefined }, now)).map((t) => tokenView(t, app.policies)),
    nextCursor: cursors.encode(orgId, list, page.lastKey),
  };
}
