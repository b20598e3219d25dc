/**
 * The grant entity: one small item per grant that has a refresh token (the tokens of one
 * authorization: a rotation chain and every access token issued from any of its refresh tokens),
 * keyed by the id of the grant's first refresh token. It holds what the grant's tokens depend on:
 * whether the grant was revoked (one write ends every token of it, whatever its length) and how
 * many of them count, so that revocation uncounts them all at once.
 * Every change moves its version; a revocation is pinned to the version it read (so it uncounts
 * exactly what the grant counted), registrations and removals change the count atomically.
 * It expires (DynamoDB TTL) a margin after the last of its tokens' own expiries; without one it stays.
 */
import * as v from 'valibot';
import type { Grant } from '../model.js';
import { chunk } from '../chunk.js';
import { recordReader } from './checked.js';
import { batchGetConsistent, itemOf, withoutNulls, type Key } from './requests.js';
import { orgPrefix, table } from './table.js';
import { putWrite, updateWrite, type Write } from './unit-of-work.js';

export const grantKeys = {
  grant: (orgId: string, grantId: string): Key => ({ pk: `${orgPrefix(orgId)}#GRANT#${grantId}`, sk: 'GRANT' }),
};

export const toGrant = /* @__PURE__ */ recordReader('Grant', () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), grantId: v.string(), counted: v.number(), version: v.number(),
}), (g) => ({
  ...(g as unknown as Grant),
  appEpoch: (g.appEpoch as number | undefined) ?? 0, userEpoch: (g.userEpoch as number | undefined) ?? 0,
  revokedAt: (g.revokedAt as string | undefined) ?? null, expiresAt: (g.expiresAt as string | undefined) ?? null,
}));

/** Grants by id, strongly consistent, in BatchGetItem calls of 100 run in parallel (one round trip). */
export async function getGrants(orgId: string, grantIds: string[]): Promise<Map<string, Grant>> {
  const parts = chunk([...new Set(grantIds)], 100);
  const items = (await Promise.all(parts.map((part) => batchGetConsistent(part.map((id) => grantKeys.grant(orgId, id)))))).flat();
  return new Map(items.map((i) => toGrant(i) as Grant).map((g) => [g.grantId, g]));
}

/**
 * A grant outlives its last token by this much, so that the sweep settles (and uncounts) the
 * grant's expired tokens while it can still read the grant (a token naming a missing grant is dead).
 */
const TTL_MARGIN_MS = 30 * 86_400_000;
const ttlOf = (expiresAt: string | null) => (expiresAt === null ? {} : { [table.ttlAttribute]: Math.ceil((Date.parse(expiresAt) + TTL_MARGIN_MS) / 1000) });

/** The latest of two expiries, where null (never) is the latest. */
export const laterExpiry = (a: string | null, b: string | null) => (a === null || b === null ? null : a > b ? a : b);

/** A new grant with its first tokens, only if no grant has its id. */
export function createGrantWrite(grant: Grant): Write {
  return putWrite(itemOf('Grant', grantKeys.grant(grant.orgId, grant.grantId), withoutNulls(grant), ttlOf(grant.expiresAt)), { expression: 'attribute_not_exists(pk)' });
}

/**
 * Tokens join a live grant (or a rotation replaces its refresh token): `counted` moves by what the
 * registration adds and retires, atomically (concurrent registrations into one grant do not
 * conflict), and the version with it, so that a revocation pinned to what it read is refused and
 * reads again. The expiry (and TTL) moves only when the new tokens outlive the grant's, pinned to
 * the expiry read. Only while the grant is not revoked.
 */
export function joinGrantWrite(grant: Grant, countedDelta: number, expiresAt: string | null): Write {
  const expiry = laterExpiry(grant.expiresAt, expiresAt);
  const moves = expiry !== grant.expiresAt;
  const ttl = ttlOf(expiry);
  return updateWrite({
    Key: grantKeys.grant(grant.orgId, grant.grantId),
    UpdateExpression: `ADD counted :delta, version :one${!moves ? '' : expiry === null ? ' REMOVE expiresAt, #ttl' : ' SET expiresAt = :expiry, #ttl = :ttl'}`,
    ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(revokedAt)${moves ? ' AND expiresAt = :seenExpiry' : ''}`,
    ...(moves ? { ExpressionAttributeNames: { '#ttl': table.ttlAttribute } } : {}),
    ExpressionAttributeValues: {
      ':delta': countedDelta, ':one': 1,
      ...(moves ? { ':seenExpiry': grant.expiresAt } : {}),
      ...(moves && expiry !== null ? { ':expiry': expiry, ':ttl': ttl[table.ttlAttribute] } : {}),
    },
  });
}

/** Some of the grant's counted tokens were removed on their own (expired, or an access token revoked), while it is not revoked. */
export function uncountInGrantWrite(grant: Grant, tokens: number): Write {
  return updateWrite({
    Key: grantKeys.grant(grant.orgId, grant.grantId),
    UpdateExpression: 'ADD counted :minus, version :one',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
    ExpressionAttributeValues: { ':minus': -tokens, ':one': 1 },
  });
}

/** Revokes the grant as read: every token of it is dead from this write on. */
export function revokeGrantWrite(grant: Grant, at: string): Write {
  return updateWrite({
    Key: grantKeys.grant(grant.orgId, grant.grantId),
    UpdateExpression: 'SET version = :next, revokedAt = :at, counted = :zero',
    ConditionExpression: 'version = :seen AND attribute_not_exists(revokedAt)',
    ExpressionAttributeValues: { ':next': grant.version + 1, ':seen': grant.version, ':at': at, ':zero': 0 },
  });
}

/**
 * An access token an older version registered joins a grant and counts there (one more if it
 * counts): `orphan`, a grant of the id of its refresh token that is gone now (expired and
 * deleted), created by the first such token; otherwise the grant of a refresh token registered
 * since grants (an upgrade's mixed-version window), which exists.
 */
export function countInGrantWrite(grant: Omit<Grant, 'counted' | 'version' | 'revokedAt' | 'expiresAt'>, counted: boolean, orphan: boolean): Write {
  return updateWrite({
    Key: grantKeys.grant(grant.orgId, grant.grantId),
    UpdateExpression: `SET #entity = :entity, orgId = :org, appId = :app, userId = :user, grantId = :grant, appEpoch = if_not_exists(appEpoch, :appEpoch), userEpoch = if_not_exists(userEpoch, :userEpoch), version = if_not_exists(version, :zero) + :one${orphan ? ', orphan = :true' : ''} ADD counted :counted`,
    ...(orphan ? {} : { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(orphan)' }),
    ExpressionAttributeNames: { '#entity': 'entity' },
    ExpressionAttributeValues: {
      ':entity': 'Grant', ':org': grant.orgId, ':app': grant.appId, ':user': grant.userId, ':grant': grant.grantId,
      ':appEpoch': grant.appEpoch, ':userEpoch': grant.userEpoch, ':zero': 0, ':one': 1, ':counted': counted ? 1 : 0, ...(orphan ? { ':true': true } : {}),
    },
  });
}
