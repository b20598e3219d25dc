/**
 * The token entity: one item per registered token, keyed by the keyed hash of its raw value (so
 * introspection is one GetItem), listed per user of an app (gsi1, by token id), per app and the
 * app epoch it was registered under (gsi6, sharded) and, when the sweep must look at it, in the
 * due index. A revoked token becomes a tombstone under the same key
 * (`entity: 'TokenTombstone'`): what identifies it and `revokedAt`, kept until it could no longer
 * be presented (DynamoDB TTL). A raw value revoked (RFC 7009) before it was registered leaves a
 * marker under its lookup key (`entity: 'RevokedValue'`), read as a tombstone of no app or user,
 * so that the registration's own condition (no item under this key) refuses it.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { isClientUser, type AppShard, type AppUser, type Grant, type Token } from '../model.js';
import { chunk } from '../chunk.js';
import { appKeys, randomShard, toAppShard } from './app.js';
import { appUserKeys, recordUseUpdate, toAppUser, unlinkRequests } from './app-user.js';
import { approvedUserKeys } from './approved-user.js';
import { grantKeys, toGrant } from './grant.js';
import { neverRestricted, orgUserKeys, toOrgUser, type OrgUser } from './org-user.js';
import { recordReader } from './checked.js';
import { dueIndexAttributes, dueKeys } from './due-index.js';
import {
  batchGetConsistent, batchWrite, conditionalUpdate, getItem, itemOf, partitionOf, queryPage, removeClause, sameKey, setClause, withoutNulls, type Item, type Key, type ListedPage, type Page,
} from './requests.js';
import { keyPart, orgPrefix, table, TOKEN_INDEX_SHARDS } from './table.js';
import { checkWrite, deleteWrite, putWrite, updateWrite, type Write } from './unit-of-work.js';

const { gsi1, gsi6 } = table.indexes;

/** A uniform hex hash of a user id: where the user's tokens sit in the app's token list (gsi6). */
const userPlace = (userId: string) => createHash('sha256').update(userId).digest('hex').slice(0, 8);

export const tokenKeys = {
  token: (orgId: string, lookupKey: string): Key => ({ pk: `${orgPrefix(orgId)}#TOKEN#${lookupKey}`, sk: 'TOKEN' }),
  /** gsi1: a user's tokens for one app, by token id. */
  ofUser: (orgId: string, appId: string, userId: string, tokenId = '') => ({ [gsi1.partitionKey]: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#USER#${keyPart(userId)}`, [gsi1.sortKey]: `TOKEN#${tokenId}` }),
  /**
   * gsi6: an app's live tokens registered under one app epoch, in TOKEN_INDEX_SHARDS partitions,
   * a user's tokens together: the partition is picked by the first hex digit of the user's hash,
   * the sort key is the rest of it and the user id.
   */
  ofAppEpoch: (orgId: string, appId: string, appEpoch: number, userId: string) => {
    const place = userPlace(userId);
    return { [gsi6.partitionKey]: appTokensPartition(orgId, appId, appEpoch, Number.parseInt(place[0] as string, 16) % TOKEN_INDEX_SHARDS), [gsi6.sortKey]: `${place.slice(1)}#${keyPart(userId)}` };
  },
};

const appTokensPartition = (orgId: string, appId: string, appEpoch: number, shard: number) => `${orgPrefix(orgId)}#APP#${keyPart(appId)}#TOKENS#${appEpoch}#${shard}`;

/**
 * One of the parts an app epoch's token list splits into without reading it: a shard's sort keys
 * (uniform hex first) cut into `parts` near-equal ranges by their first two digits (`parts`:
 * 1–256). A range holds whole users.
 */
export interface TokenRange {
  shard: number;
  part: number;
  parts: number;
}

export const MAX_RANGE_PARTS = 256;

/** The ranges covering an app epoch's tokens, `partsPerShard` (1–256) per shard. */
export function tokenRanges(partsPerShard: number): TokenRange[] {
  const parts = Math.min(MAX_RANGE_PARTS, Math.max(1, Math.floor(partsPerShard)));
  return Array.from({ length: TOKEN_INDEX_SHARDS * parts }, (_, n) => ({ shard: Math.floor(n / parts), part: n % parts, parts }));
}

/** The inclusive sort-key bounds of a range: two hex digits, the upper one padded past every digit. */
export function tokenRangeBounds({ part, parts }: TokenRange): [string, string] {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return [hex(Math.floor((part * MAX_RANGE_PARTS) / parts)), `${hex(Math.floor(((part + 1) * MAX_RANGE_PARTS) / parts) - 1)}~`];
}

/** What identifies a token: every token item, tombstone and gsi6 copy holds it. */
const identity = () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), lookupKey: v.string(), tokenId: v.string(), type: v.picklist(['access', 'refresh']),
});

/** A token item, or a tombstone (which keeps only what identifies the token, and `revokedAt`). */
const toTokenItem = /* @__PURE__ */ recordReader(['Token', 'TokenTombstone'], identity, (t) => {
  const v = t as Partial<Token>;
  return {
    ...(t as unknown as Token),
    scopes: v.scopes ?? [], audience: v.audience ?? [], issuer: v.issuer ?? null, learnedFrom: v.learnedFrom ?? null, cnf: v.cnf ?? null, issuedAt: v.issuedAt ?? v.revokedAt ?? '', appEpoch: v.appEpoch ?? 0, userEpoch: v.userEpoch ?? 0, orgUserEpoch: v.orgUserEpoch ?? 0, useCount: v.useCount ?? 0,
    childCount: v.childCount ?? 0, expiresAt: v.expiresAt ?? null, presentableUntil: v.presentableUntil ?? null, refreshTokenId: v.refreshTokenId ?? null, lastUsedAt: v.lastUsedAt ?? null,
    grantId: v.grantId ?? null, retiredAt: v.retiredAt ?? null, successorId: v.successorId ?? null, revokedAt: v.revokedAt ?? null, policyEnded: v.policyEnded ?? false, dueAt: v.dueAt ?? null,
  };
});

/** A raw value revoked before it was registered: a tombstone of no app, user or known type. */
const toRevokedValue = /* @__PURE__ */ recordReader('RevokedValue', () => ({ orgId: v.string(), lookupKey: v.string(), tokenId: v.string(), revokedAt: v.string() }), (t): Token => ({
  orgId: t.orgId as string, appId: '', userId: '', lookupKey: t.lookupKey as string, tokenId: t.tokenId as string, type: 'access', scopes: [], audience: [], issuer: null, learnedFrom: null, cnf: null, issuedAt: t.revokedAt as string,
  expiresAt: null, presentableUntil: null, refreshTokenId: null, grantId: null, retiredAt: null, successorId: null, appEpoch: 0, userEpoch: 0, orgUserEpoch: 0,
  lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: t.revokedAt as string, policyEnded: false, dueAt: null,
}));

export const toToken = (item: Item | undefined): Token | undefined => (item?.entity === 'RevokedValue' ? toRevokedValue(item) : toTokenItem(item));

export async function getToken(orgId: string, lookupKey: string): Promise<Token | undefined> {
  return toToken(await getItem(tokenKeys.token(orgId, lookupKey)));
}

/**
 * The token (or tombstone) stored under the first of `lookupKeys` that holds one: a raw value's
 * keys under every key version, current first. One GetItem, or one BatchGetItem once rotated.
 */
export async function findToken(orgId: string, lookupKeys: string[]): Promise<Token | undefined> {
  if (lookupKeys.length === 1) return getToken(orgId, lookupKeys[0] as string);
  const found = new Map((await getTokens(orgId, lookupKeys)).map((t) => [t.lookupKey, t]));
  return storedUnderAnyVersion(lookupKeys, found);
}

/**
 * What a raw value is, of the items found under its lookup keys (one per key version, current
 * first): a tombstone under any version wins — a revocation recorded by a container that did not
 * know the newest version yet is final too — else the item of the newest version found.
 */
export function storedUnderAnyVersion(lookupKeys: string[], found: ReadonlyMap<string, Token>): Token | undefined {
  const items = lookupKeys.map((k) => found.get(k)).filter((t): t is Token => t !== undefined);
  return items.find((t) => t.revokedAt !== null) ?? items[0];
}

/** Tokens (or their tombstones) by lookup key, strongly consistent, in BatchGetItem calls of 100 run in parallel. */
export async function getTokens(orgId: string, lookupKeys: string[]): Promise<Token[]> {
  const parts = chunk([...new Set(lookupKeys)], 100);
  const items = (await Promise.all(parts.map((part) => batchGetConsistent(part.map((k) => tokenKeys.token(orgId, k)))))).flat();
  return items.map((i) => toToken(i) as Token);
}

export interface TokenContext {
  /** A random shard of the app: its revocation epoch, policies and counters (undefined: no such app). */
  shard: AppShard | undefined;
  user: AppUser | undefined;
  /** What holds for the user in every app: blocked, offboarded (a client's own tokens have neither). */
  orgUser: OrgUser;
  tokens: Map<string, Token>;
  grants: Map<string, Grant>;
  /** Whether an admin approved the user for the app (read only when asked for). */
  approved: boolean;
}

/**
 * What registration, introspection and revocation check, in one strongly consistent round trip:
 * a random shard of the app (not the app row, so a busy app's reads spread over its shards), the
 * user's usage row and org-wide state, any tokens named by lookup key and any grants named by id
 * (past 100 keys, in BatchGetItem calls sent in parallel).
 */
export async function getTokenContext(orgId: string, appId: string, userId: string, lookupKeys: string[], grantIds: string[] = [], { approval = false } = {}): Promise<TokenContext> {
  const appKey = appKeys.shard(orgId, appId, randomShard());
  const userKey = appUserKeys.row(orgId, appId, userId);
  const approvalKey = approvedUserKeys.approval(orgId, appId, userId);
  const orgUserKey = orgUserKeys.user(orgId, userId);
  const ofUser = !isClientUser(userId);
  // A key twice in one BatchGetItem is an error.
  const keys = [
    appKey, userKey, ...(ofUser ? [orgUserKey] : []), ...(approval ? [approvalKey] : []),
    ...[...new Set(lookupKeys)].map((k) => tokenKeys.token(orgId, k)), ...[...new Set(grantIds)].map((id) => grantKeys.grant(orgId, id)),
  ];
  const items = (await Promise.all(chunk(keys, 100).map(batchGetConsistent))).flat();
  const tokens = new Map<string, Token>();
  const grants = new Map<string, Grant>();
  for (const item of items) {
    if (item.entity === 'Grant') {
      const grant = toGrant(item) as Grant;
      grants.set(grant.grantId, grant);
    } else if (item.sk === 'TOKEN') {
      const token = toToken(item) as Token;
      tokens.set(token.lookupKey, token);
    }
  }
  return {
    shard: toAppShard(items.find(sameKey(appKey))), user: toAppUser(items.find(sameKey(userKey))),
    orgUser: (ofUser ? toOrgUser(items.find(sameKey(orgUserKey))) : undefined) ?? neverRestricted(orgId, userId),
    tokens, grants, approved: approval && items.some(sameKey(approvalKey)),
  };
}

/** A token's place in the sweep's due index (none when it is never due). */
const dueIndexKeys = (token: Pick<Token, 'orgId' | 'appId' | 'userId' | 'lookupKey'>, dueAt: string | null) =>
  dueAt === null ? {} : dueKeys.token(dueAt, token.orgId, token.appId, token.userId, token.lookupKey);

/**
 * A raw value is stored once, under whichever key version wrote it first: a write that creates
 * its item (a token, a remembered revocation) also requires the value's keys under the versions
 * another container may make current (`contested`: the hasher's `contestedKeysOf`) to hold
 * nothing. Two containers that make different versions current (a rollout's phase 2) therefore
 * cannot both write one: the later write fails, reads again and finds the other.
 */
const nothingUnder = (orgId: string, written: string, contested: readonly string[]): Write[] =>
  contested.filter((k) => k !== written).map((k) => checkWrite(tokenKeys.token(orgId, k), { expression: 'attribute_not_exists(pk)' }));

/** The writes that store a new token: only if no token (or tombstone) has its key, nor one of its `contested` keys. */
export function createTokenWrites(token: Token, contested: readonly string[]): Write[] {
  return [putWrite(tokenItem(token), { expression: 'attribute_not_exists(pk)' }), ...nothingUnder(token.orgId, token.lookupKey, contested)];
}

/** A live token as stored, with its places in the user's and the app's token lists and the due index (tests and the benchmark seed with it too). */
export function tokenItem(token: Token): Item {
  const { policyEnded: _onTombstonesOnly, ...stored } = token;
  return itemOf('Token', tokenKeys.token(token.orgId, token.lookupKey), withoutNulls(stored), {
    ...tokenKeys.ofUser(token.orgId, token.appId, token.userId, token.tokenId),
    ...tokenKeys.ofAppEpoch(token.orgId, token.appId, token.appEpoch, token.userId),
    ...dueIndexKeys(token, token.dueAt),
  });
}

/** A refresh token an access token is registered from is still live and current, in the same transaction. */
export function parentCheckWrite(parent: Token): Write {
  return checkWrite(tokenKeys.token(parent.orgId, parent.lookupKey), { expression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt) AND attribute_not_exists(retiredAt)' });
}

/** Rotation: the successor retires its predecessor, only if that one is still live and current. */
export function retireWrite(predecessor: Token, successorId: string, at: string): Write {
  return updateWrite({
    Key: tokenKeys.token(predecessor.orgId, predecessor.lookupKey),
    UpdateExpression: 'SET retiredAt = :at, successorId = :successor',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt) AND attribute_not_exists(retiredAt)',
    ExpressionAttributeValues: { ':at': at, ':successor': successorId },
  });
}

/**
 * A token an older version registered joins its grant (see `adoptLegacy`), pinned to the token
 * as read: still without a grant, revoked or not as it was, counting the same access tokens.
 */
export function adoptTokenWrite(token: Token, grantId: string): Write {
  return updateWrite({
    Key: tokenKeys.token(token.orgId, token.lookupKey),
    UpdateExpression: 'SET grantId = :grant',
    ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(grantId) AND ${token.revokedAt ? 'attribute_exists' : 'attribute_not_exists'}(revokedAt) AND ${token.childCount === 0 ? '(attribute_not_exists(childCount) OR childCount = :children)' : 'childCount = :children'}`,
    ExpressionAttributeValues: { ':grant': grantId, ':children': token.childCount },
  });
}

/** How long a raw value revoked before its registration is remembered, at least; a registered token's tombstone lasts at least as long. */
export const REVOCATION_MEMORY_MS = 86_400_000;

/**
 * RFC 7009 of a raw value nobody registered (yet): remembered under its lookup key, only if no
 * item is there nor under its `contested` keys, for REVOCATION_MEMORY_MS or until `presentableUntil`
 * (a JWT's own expiry), whichever is later.
 */
export function revokedValueWrites(orgId: string, lookupKey: string, tokenId: string, at: string, contested: readonly string[], presentableUntil = 0): Write[] {
  const until = new Date(Math.max(Date.parse(at) + REVOCATION_MEMORY_MS, presentableUntil)).toISOString();
  return [
    putWrite(itemOf('RevokedValue', tokenKeys.token(orgId, lookupKey), { orgId, lookupKey, tokenId, revokedAt: at }, ttlOf(until)), { expression: 'attribute_not_exists(pk)' }),
    ...nothingUnder(orgId, lookupKey, contested),
  ];
}

/**
 * Records one use: the token's and the user's `lastUsedAt`/`useCount` (and the user's
 * `firstUsedAt` on first use), written in parallel: one write round trip. Neither write may
 * resurrect an item deleted meanwhile, hence the conditions. `moveInLastUseOrder` also moves the
 * user in the by-last-use index; callers do it at most about once a minute per user, because all
 * of an app's users share that index partition and its newest end takes every such write. A move
 * refused because the row counts under a newer epoch now (a race with an app-wide revocation) is
 * recorded again without it. False when the token's own write found it revoked or gone.
 */
export async function recordUse(token: Token, at: string, moveInLastUseOrder: boolean): Promise<boolean> {
  const [recorded] = await Promise.all([
    conditionalUpdate({
      Key: tokenKeys.token(token.orgId, token.lookupKey),
      UpdateExpression: 'SET lastUsedAt = :at ADD useCount :one',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
      ExpressionAttributeValues: { ':at': at, ':one': 1 },
    }),
    conditionalUpdate(recordUseUpdate(token, at, moveInLastUseOrder))
      .then((recorded) => recorded || !moveInLastUseOrder || conditionalUpdate(recordUseUpdate(token, at, false))),
  ]);
  return recorded;
}

/**
 * A live token becomes its tombstone. A refresh token revoked with its grant (`checkChildrenAt`)
 * keeps no TTL yet and is due for the sweep's check of the grant's other tokens then.
 */
export function tombstoneWrite(token: Token, at: string, checkChildrenAt: string | null): Write {
  return putWrite(tombstoneItem(token, at, checkChildrenAt), { expression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)' });
}

/** Only if the token was not used (nor, if it was current, rotated out) since it was read. */
const unusedSinceRead = (token: Token) => ({
  expression: `useCount = :seenUses AND attribute_not_exists(revokedAt)${token.retiredAt === null ? ' AND attribute_not_exists(retiredAt)' : ''}`,
  values: { ':seenUses': token.useCount },
});

/** A token past its own expiry goes. */
export function deleteUnusedWrite(token: Token): Write {
  return deleteWrite(tokenKeys.token(token.orgId, token.lookupKey), unusedSinceRead(token));
}

/** A tombstone a policy left becomes a revocation's (its grant is revoked in the same transaction). */
export function revokeEndedWrite(token: Token, at: string, checkChildrenAt: string | null): Write {
  return putWrite(tombstoneItem(token, at, checkChildrenAt), { expression: 'attribute_exists(pk) AND policyEnded = :ended', values: { ':ended': true } });
}

/**
 * A token a policy ended (the refresh-token policy, the session timeout) becomes a tombstone, as
 * a revoked one does, so the same raw value registered again is refused; its grant lives on.
 */
export function expireUnusedWrite(token: Token, at: string): Write {
  return putWrite(tombstoneItem(token, at, null, { policyEnded: true }), unusedSinceRead(token));
}

/**
 * What stays of a revoked token: enough to refuse its registration again (lookup key, app, user,
 * type) and to find the rest of its grant. DynamoDB's TTL removes it once the caller's own expiry
 * for it has passed (`presentableUntil`), and no sooner than REVOCATION_MEMORY_MS after the
 * revocation; a token without one is remembered for good.
 */
export function tombstoneItem(token: TombstoneSource, at: string, checkChildrenAt: string | null, { policyEnded = false } = {}): Item {
  const { orgId, appId, userId, lookupKey, tokenId, type, expiresAt, presentableUntil, refreshTokenId } = token;
  const grantId = token.grantId ?? null;
  const dueAt = checkChildrenAt;
  // What a policy ended is remembered as a revocation is: to the caller's own expiry, a day at least, for good without one.
  const until = tombstoneUntil(presentableUntil, at);
  return itemOf('TokenTombstone', tokenKeys.token(orgId, lookupKey), withoutNulls({ orgId, appId, userId, lookupKey, tokenId, type, expiresAt, presentableUntil, refreshTokenId, grantId, revokedAt: at, ...(policyEnded ? { policyEnded } : {}), dueAt }), {
    ...(dueAt === null ? ttlOf(until) : dueIndexKeys(token, dueAt)),
  });
}

/** Until when a tombstone is kept: the later of the caller's own expiry and a day after the revocation (null: for good). */
const tombstoneUntil = (presentableUntil: string | null, revokedAt: string) => {
  if (presentableUntil === null) return null;
  const memory = new Date(Date.parse(revokedAt) + REVOCATION_MEMORY_MS).toISOString();
  return presentableUntil > memory ? presentableUntil : memory;
};

/** What a tombstone is made from: a token as its item or its copy in the app's token list (gsi6) holds it (which has no grant). */
export type TombstoneSource = Pick<Token, 'orgId' | 'appId' | 'userId' | 'lookupKey' | 'tokenId' | 'type' | 'expiresAt' | 'presentableUntil' | 'refreshTokenId'> & Partial<Pick<Token, 'grantId'>>;

const ttlOf = (until: string | null) => (until === null ? {} : { [table.ttlAttribute]: Math.ceil(Date.parse(until) / 1000) });

const tombstoneRequests = (tokens: TombstoneSource[], at: string) => tokens.map((t) => ({ PutRequest: { Item: tombstoneItem(t, at, null) } }));

/** Tombstones of tokens a watermark already killed and uncounted (a job's cleanup), in full BatchWriteItem calls. */
export async function tombstoneTokens(tokens: TombstoneSource[], at: string): Promise<void> {
  await batchWrite(tombstoneRequests(tokens, at));
}

/**
 * The same for tokens an app-wide revocation ended, all registered under `appEpoch`, and in the
 * same full calls their users' links to the app under that epoch deleted (see `unlinkRequests`).
 */
export async function tombstoneTokensAndUnlinkUsers(tokens: TombstoneSource[], at: string, appEpoch: number): Promise<void> {
  const [first] = tokens;
  if (!first) return;
  const userIds = [...new Set(tokens.map((t) => t.userId))];
  await batchWrite([...tombstoneRequests(tokens, at), ...unlinkRequests(first.orgId, first.appId, appEpoch, userIds)]);
}

/** After the check of its grant's tokens: the tombstone leaves the due index and expires with the token. */
export async function settleTombstone(token: Token): Promise<void> {
  const set = setClause(ttlOf(tombstoneUntil(token.presentableUntil, token.revokedAt ?? new Date().toISOString())), 's');
  const unlisted = removeClause(['dueAt', ...dueIndexAttributes], 'r');
  await conditionalUpdate({
    Key: tokenKeys.token(token.orgId, token.lookupKey),
    UpdateExpression: `${set.parts.length ? `SET ${set.parts.join(', ')} ` : ''}REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: 'attribute_exists(revokedAt)',
    ExpressionAttributeNames: { ...set.names, ...unlisted.names },
    ...(set.parts.length ? { ExpressionAttributeValues: set.values } : {}),
  });
}

/** Moves a token in the due index (or out of it, for null), when the sweep found it was not due yet after all. */
export async function rescheduleToken(token: Token, dueAt: string | null): Promise<void> {
  const set = setClause(dueAt === null ? {} : { dueAt, ...dueIndexKeys(token, dueAt) }, 's');
  const unlisted = removeClause(dueAt === null ? ['dueAt', ...dueIndexAttributes] : [], 'r');
  await conditionalUpdate({
    Key: tokenKeys.token(token.orgId, token.lookupKey),
    UpdateExpression: [set.parts.length ? `SET ${set.parts.join(', ')}` : '', unlisted.parts.length ? `REMOVE ${unlisted.parts.join(', ')}` : ''].filter(Boolean).join(' '),
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { ...set.names, ...unlisted.names },
    ...(set.parts.length ? { ExpressionAttributeValues: set.values } : {}),
  });
}

const userTokensPartition = (orgId: string, appId: string, userId: string) => partitionOf('gsi1', tokenKeys.ofUser(orgId, appId, userId));

/** A user's tokens for one app, by token id: one Query on gsi1 per page. */
export async function listUserTokens(orgId: string, appId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<Token>> {
  const page = await queryPage({ index: 'gsi1', partition: userTokensPartition(orgId, appId, userId), limit, startKey });
  return { items: page.items.map((i) => toToken(i) as Token), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}

/**
 * One page of the live tokens of a grant (same app and user): one Query over the user's tokens
 * (up to 1,000 read), filtered to the grant's, including those an older version registered from
 * the grant's first refresh token (which name it as their refresh token and no grant).
 */
export async function pageGrantTokens(grant: Pick<Grant, 'orgId' | 'appId' | 'userId' | 'grantId'>, startKey?: Record<string, unknown>): Promise<Page<Token>> {
  const page = await queryPage({
    index: 'gsi1',
    partition: userTokensPartition(grant.orgId, grant.appId, grant.userId),
    filter: { expression: 'grantId = :grant OR (attribute_not_exists(grantId) AND refreshTokenId = :grant)', values: { ':grant': grant.grantId } },
    limit: 1000,
    startKey,
  });
  return { items: page.items.map((i) => toToken(i) as Token), lastKey: page.lastKey };
}

/**
 * One page (up to `limit`) of an app's live tokens registered under `appEpoch`, in one range of
 * the app's token list: one Query on gsi6, which holds what a tombstone keeps.
 */
export async function pageAppTokens(orgId: string, appId: string, appEpoch: number, range: TokenRange, limit: number, startKey?: Record<string, unknown>): Promise<Page<TombstoneSource>> {
  const page = await queryPage({ index: 'gsi6', partition: appTokensPartition(orgId, appId, appEpoch, range.shard), between: tokenRangeBounds(range), limit, startKey });
  return { items: page.items.map((i) => toIndexedToken(i) as TombstoneSource), lastKey: page.lastKey };
}

const toIndexedToken = /* @__PURE__ */ recordReader('Token', identity, (t) => ({
  ...(t as unknown as TombstoneSource),
  expiresAt: (t.expiresAt as string | undefined) ?? null, presentableUntil: (t.presentableUntil as string | undefined) ?? null, refreshTokenId: (t.refreshTokenId as string | undefined) ?? null,
}));

/** A user's tokens for one app that `isTarget` picks, over every page of the index. */
export async function findTokens(orgId: string, appId: string, userId: string, isTarget: (token: Token) => boolean): Promise<Token[]> {
  const found: Token[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queryPage({ index: 'gsi1', partition: userTokensPartition(orgId, appId, userId), startKey });
    found.push(...page.items.map((i) => toToken(i) as Token).filter(isTarget));
    startKey = page.lastKey;
  } while (startKey);
  return found;
}
