/**
 * Revoking one token: RFC 7009 by raw value, an admin's DELETE by id, and the transaction both
 * run. Kept apart from registration and introspection because a refresh token's revocation hands
 * its children to the queue: functions that never revoke do not load the queue's client.
 */
import { deactivateIfIdle } from '../db/app.js';
import { findToken, getToken, getTokenContext } from '../db/token.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import { auditEvent } from './audit.js';
import type { Actor, AuditEvent, Token } from '../model.js';
import { childrenCheckAt } from './policies.js';
import { removeTokens } from './removal.js';
import { isRevoked, parentOf, planRemoval } from './rules.js';
import { hasher, parentKeyOf, parentsAmong } from './tokens.js';

/** RFC 7009: revokes the token if this org knows it; unknown or already revoked tokens are not an error. */
export async function revokeRawToken(orgId: string, rawToken: string, now: number): Promise<void> {
  const token = await findToken(orgId, hasher.lookupKeysOf(rawToken));
  if (token) await revokeToken(token, now);
}

/**
 * DELETE /v1/apps/{appId}/users/{userId}/tokens/{tokenId}: an admin revokes one token (and, for a
 * refresh token, the access tokens registered from it), recorded as `token.revoked`. A token of
 * another app, user or org is a 404, as is one already revoked and any spelling of an id but its own.
 */
export async function revokeTokenById(actor: Actor, appId: string, userId: string, tokenId: string, now: number): Promise<void> {
  const lookupKey = hasher.lookupKeyOf(tokenId);
  const token = lookupKey === undefined ? undefined : await getToken(actor.orgId, lookupKey);
  const notFound = () => new NotFoundError(`Token ${tokenId}`);
  if (!token || token.appId !== appId || token.userId !== userId) throw notFound();
  if (!(await revokeToken(token, now, auditEvent(actor, 'token.revoked', { appId, userId, tokenId: token.tokenId, details: { type: token.type } }, now)))) throw notFound();
}

/**
 * Revokes one token in one transaction: its item becomes a tombstone and, if it still counted,
 * it leaves the counters; a refresh token takes its counted access tokens along (they are dead at
 * once through their parent's tombstone), and the queue then tombstones their items. `event` is
 * recorded in the same transaction. False if the token was revoked already.
 */
export async function revokeToken(token: Token, now: number, event?: AuditEvent): Promise<boolean> {
  const at = iso(now);
  const parentKey = parentKeyOf(token);
  return retrying(async () => {
    const ctx = await getTokenContext(token.orgId, token.appId, token.userId, parentKey ? [token.lookupKey, parentKey] : [token.lookupKey]);
    const current = ctx.tokens.get(token.lookupKey);
    if (!current || !ctx.shard) return false;
    const parents = parentsAmong([current], ctx.tokens);
    if (isRevoked(current, ctx.shard.revokeEpoch, ctx.user, parentOf(current, parents))) return false;
    const choice = { token: current, action: 'tombstone' as const };
    const plan = planRemoval(ctx.user, ctx.shard.revokeEpoch, [choice], parents);
    const result = await removeTokens({
      user: ctx.user, appEpoch: ctx.shard.revokeEpoch, at, tokens: [{ ...choice, ...(current.type === 'refresh' ? { checkChildrenAt: childrenCheckAt(at) } : {}) }], ...plan, ...(event ? { event } : {}),
    });
    if (result === 'stale') return RETRY;
    // Only a user going idle can leave the app without active tokens.
    if (result === 'user-idle') await deactivateIfIdle(token.orgId, token.appId);
    if (current.type === 'refresh') await cleanChildrenLater(current);
    return true;
  }, () => new ConflictError('The token or its user was changed concurrently too often; retry the request'));
}

/** The children of a revoked refresh token are dead and uncounted already; the queue tombstones their items. */
async function cleanChildrenLater(parent: Token): Promise<void> {
  const { orgId, appId, userId, tokenId } = parent;
  // A lost message only delays the cleanup: the sweep checks the tombstone's children a day later.
  await enqueue([{ kind: 'children', orgId, appId, userId, tokenId, cursor: null, final: false }]).catch((error: unknown) =>
    logger.error('Could not enqueue the cleanup of a refresh token\'s access tokens; the sweep will do it', { orgId, appId, error }));
}
