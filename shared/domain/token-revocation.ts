/**
 * Revoking one token: RFC 7009 by raw value, an admin's DELETE by id, and the transaction both
 * run. Kept apart from registration and introspection because a refresh token's revocation hands
 * the rest of its grant to the queue: functions that never revoke do not load the queue's client.
 */
import { deactivateIfIdle } from '../db/app.js';
import { recordEvent } from '../db/audit-event.js';
import { getIssuerByUrl } from '../db/issuer.js';
import { getToken, getTokenContext, getTokens, revokedValueWrites } from '../db/token.js';
import type { TokenName } from '../crypto.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import { auditEvent } from './audit.js';
import { CLIENT_USER_ID, type Actor, type AuditEvent, type Token } from '../model.js';
import { adoptLegacy, revokeGrant } from './grants.js';
import { hasher } from './hasher.js';
import { jwtTimeMs, learnedNameOf, peekJwt } from './learned-names.js';
import { lineageAmong, lineageKeys } from './lineage.js';
import { childrenCheckAt } from './policies.js';
import { removeTokens } from './removal.js';
import { grantRef, isRevoked, planRemoval } from './rules.js';

/** A refresh token a policy ended: revoking it still ends its grant (the access tokens issued from it). */
const endedRefreshToken = (token: Token) => token.policyEnded && token.type === 'refresh';

/**
 * RFC 7009: revokes the token if this org knows it (a refresh token with its grant); a value not
 * registered yet is remembered as revoked, under the lookup key its registration would take, so
 * that the registration's own condition (nothing under its key) refuses it. What changed is
 * audited as `token.revoked` by the authorization server (actor kind `client`); unknown or
 * already revoked tokens are not an error.
 */
export async function revokeRawToken(actor: Actor, rawToken: string, now: number): Promise<void> {
  const event = (fields: Parameters<typeof auditEvent>[2]) => auditEvent(actor, 'token.revoked', fields, now, 'client');
  const names = await namesOf(actor.orgId, rawToken);
  await retrying(async () => {
    // Every item of the value, under any key version: each live one is revoked (there are two only
    // if a container without the newest version registered or revoked it during a rollout).
    const stored = await getTokens(actor.orgId, names.flatMap(({ name }) => hasher.lookupKeysOf(name)));
    for (const token of stored.filter((t) => t.revokedAt === null || endedRefreshToken(t))) {
      await revokeToken(token, now, event({ appId: token.appId, userId: token.userId, tokenId: token.tokenId, details: { type: token.type, via: 'rfc7009' } }));
    }
    // A JWT stored under one name (registered by its value, or learned) is remembered under the other too, so neither can bring it back.
    const storedKeys = new Set(stored.map((t) => t.lookupKey));
    const unstored = names.filter(({ name }) => !hasher.lookupKeysOf(name).some((key) => storedKeys.has(key)));
    if (unstored.length === 0) return undefined;
    const remembered = await commit([
      ...unstored.flatMap(({ name, presentableUntil }) => {
        const { lookupKey, tokenId } = hasher.digest(name);
        return revokedValueWrites(actor.orgId, lookupKey, tokenId, iso(now), hasher.contestedKeysOf(name), presentableUntil);
      }),
      ...(stored.length === 0 ? [recordEvent(event({ tokenId: hasher.digest(names[0]!.name).tokenId, details: { via: 'rfc7009', registered: false } }))] : []),
    ]);
    // Lost to a registration (or another revocation) of the same value, under any version: read it again.
    return remembered ? undefined : RETRY;
  }, () => new ConflictError('The token was changed concurrently too often; retry the request'));
}

/**
 * What a value presented to RFC 7009 may be stored as: its raw value; and for a JWT of an issuer
 * the org trusts, the learned token it is (or will be, when a resource server presents it), until
 * its own expiry. Its signature is not checked: the caller is the org's authorization server.
 */
async function namesOf(orgId: string, rawToken: string): Promise<{ name: TokenName; presentableUntil: number }[]> {
  const jwt = peekJwt(rawToken);
  if (!jwt) return [{ name: rawToken, presentableUntil: 0 }];
  // Unchecked: an exp no Date can hold is only remembered for the day every revocation is.
  const presentableUntil = jwtTimeMs(jwt.payload.exp) ?? 0;
  const issuer = await getIssuerByUrl(orgId, jwt.issuer);
  const learned = issuer && learnedNameOf(jwt, issuer.claims.tokenId);
  return [{ name: rawToken, presentableUntil }, ...(learned ? [{ name: learned, presentableUntil }] : [])];
}

/**
 * DELETE /v1/apps/{appId}/users/{userId}/tokens/{tokenId}: an admin revokes one token (a refresh
 * token with its whole grant), recorded as `token.revoked`. One already revoked is done too, for
 * as long as its revocation is remembered (its tombstone): a retry is no failure. A token of
 * another app, user or org is a 404, as is any spelling of an id but its own.
 */
export async function revokeTokenById(actor: Actor, appId: string, userId: string, tokenId: string, now: number): Promise<void> {
  const lookupKey = hasher.lookupKeyOf(tokenId);
  const token = lookupKey === undefined ? undefined : await getToken(actor.orgId, lookupKey);
  const notFound = () => new NotFoundError(`Token ${tokenId}`);
  if (!token || token.appId !== appId || token.userId !== userId) throw notFound();
  if (token.revokedAt !== null && !endedRefreshToken(token)) return;
  // False when a concurrent call revoked it first: revoked either way.
  await revokeToken(token, now, auditEvent(actor, 'token.revoked', { appId, userId, tokenId: token.tokenId, details: { type: token.type } }, now));
}

/** DELETE /v1/apps/{appId}/client-tokens/{tokenId}: the same for one of the app's own tokens. */
export const revokeClientTokenById = (actor: Actor, appId: string, tokenId: string, now: number) => revokeTokenById(actor, appId, CLIENT_USER_ID, tokenId, now);

/**
 * Revokes one token in one transaction, `event` recorded with it. A refresh token (current or
 * rotated out) takes its grant: every token of it is dead at once and uncounted, and the queue
 * then tombstones their items. An access token becomes a tombstone and, if it still counted,
 * leaves the counters (and its grant's count). False if the token was revoked already.
 */
export async function revokeToken(token: Token, now: number, event?: AuditEvent): Promise<boolean> {
  const at = iso(now);
  if (grantRef(token) && token.type === 'refresh') {
    const revoked = await revokeGrant(token, now, childrenCheckAt(at), event);
    if (revoked) await cleanGrantLater(token);
    return revoked;
  }
  return retrying(async () => {
    const { grantIds, lookupKeys } = lineageKeys([token]);
    const ctx = await getTokenContext(token.orgId, token.appId, token.userId, [token.lookupKey, ...lookupKeys], grantIds);
    const current = ctx.tokens.get(token.lookupKey);
    if (!current || !ctx.shard) return false;
    const lineageOf = lineageAmong(ctx);
    if (isRevoked(current, ctx.shard.revokeEpoch, ctx.user, lineageOf(current))) return false;
    const ref = grantRef(current);
    if (ref && !ref.required && !lineageOf(current).grant) {
      await adoptLegacy(current, now); // an older version's token: its grant holds its count from now on
      return RETRY;
    }
    const choice = { token: current, action: 'tombstone' as const };
    const plan = planRemoval(ctx.user, ctx.shard.revokeEpoch, [choice], lineageOf);
    const result = await removeTokens({ user: ctx.user, appEpoch: ctx.shard.revokeEpoch, at, tokens: [choice], ...plan, ...(event ? { event } : {}) });
    if (result === 'stale') return RETRY;
    // Only a user going idle can leave the app without active tokens.
    if (result === 'user-idle') await deactivateIfIdle(token.orgId, token.appId);
    return true;
  }, () => new ConflictError('The token or its user was changed concurrently too often; retry the request'));
}

/** The rest of a revoked grant is dead and uncounted already; the queue tombstones its items. */
async function cleanGrantLater(revoked: Token): Promise<void> {
  const { orgId, appId, userId, tokenId } = revoked;
  // A lost message only delays the cleanup: the sweep checks the grant a day later, from the tombstone.
  await enqueue([{ kind: 'children', orgId, appId, userId, tokenId, cursor: null, final: false }]).catch((error: unknown) =>
    logger.error('Could not enqueue the cleanup of a revoked grant\'s tokens; the sweep will do it', { orgId, appId, error }));
}
