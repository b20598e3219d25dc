/**
 * The trusted-issuer entity: a JWT issuer an org trusts (contract section 9). In the org's issuers
 * partition, each issuer is three kinds of item:
 * - its record by id (`ISSUER#<id>`), which GET and the list read;
 * - a copy of it by the hash of its issuer URL (`URL#<hash>`): introspection finds the issuer of a
 *   JWT's `iss` with one GetItem, and the copy's existence keeps an issuer URL trusted once per org
 *   (both are written in one transaction). When the org stops trusting the URL the copy stays,
 *   marked `distrustedAt`: a later trust of the URL then learns only tokens issued after it;
 * - ISSUER_SHARDS counter shards (`ISSUER#<id>#SHARD#<n>`, sorted right after the record, so a
 *   page of the list is one Query): what first sights learned and when, spread so that an issuer
 *   whose tokens are learned fast takes no hot item.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { IssuerClaims, IssuerPreset } from '../domain/issuer-presets.js';
import { recordReader } from './checked.js';
import { batchGetConsistent, getItem, itemOf, queryPage, type Item, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix } from './table.js';
import { checkWrite, deleteWrite, putWrite, updateWrite, type Write } from './unit-of-work.js';

export const ISSUER_SHARDS = 4;

export interface TrustedIssuer {
  orgId: string;
  issuerId: string;
  /** The exact `iss` its tokens carry. */
  issuer: string;
  jwksUri: string;
  /** Accepted `aud` values; empty: its tokens must tell access tokens apart themselves (`at+jwt`, or the preset's claim). */
  audiences: string[];
  preset: IssuerPreset | null;
  /** The claim names read from its tokens (the preset's, with any the org gave over them). */
  claims: IssuerClaims;
  /**
   * Tokens issued at or before this (within the issuer's clock skew) are not this trust's: when the
   * org trusted the URL before and stopped, or the claim mapping changed (a token could otherwise
   * be learned again under another name, app or user than the one it was revoked as).
   */
  trustedSince: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface IssuerUsage {
  learnedTokenCount: number;
  lastUsedAt: string | null;
}

const partition = (orgId: string) => `${orgPrefix(orgId)}#ISSUERS`;
/** The hash an issuer URL is keyed by: exact, so `https://a.example` and `https://a.example/` are two issuers (as `iss` comparison is). */
const urlHash = (issuer: string) => createHash('sha256').update(issuer).digest('base64url');

export const issuerKeys = {
  issuer: (orgId: string, issuerId: string): Key => ({ pk: partition(orgId), sk: `ISSUER#${keyPart(issuerId)}` }),
  byUrl: (orgId: string, issuer: string): Key => ({ pk: partition(orgId), sk: `URL#${urlHash(issuer)}` }),
  shard: (orgId: string, issuerId: string, shard: number): Key => ({ pk: partition(orgId), sk: `ISSUER#${keyPart(issuerId)}#SHARD#${shard}` }),
};

const shape = () => ({
  orgId: v.string(), issuerId: v.string(), issuer: v.string(), jwksUri: v.string(), audiences: v.array(v.string()),
  claims: v.object({ client: v.string(), user: v.string(), scope: v.string(), tokenId: v.string() }),
  createdAt: v.string(), updatedAt: v.string(), version: v.number(),
});
const complete = (r: Item): TrustedIssuer => {
  const claims = r.claims as IssuerClaims;
  return {
    ...(r as unknown as TrustedIssuer), preset: (r.preset as IssuerPreset | undefined) ?? null, claims: { ...claims, userName: claims.userName ?? null },
    trustedSince: (r.trustedSince as string | undefined) ?? null,
  };
};
const toIssuer = /* @__PURE__ */ recordReader('TrustedIssuer', shape, complete);
const toIssuerByUrl = /* @__PURE__ */ recordReader('TrustedIssuerUrl', shape, complete);
const toShard = /* @__PURE__ */ recordReader('TrustedIssuerShard', () => ({ issuerId: v.string() }), (r): IssuerUsage & { issuerId: string } => ({
  issuerId: r.issuerId as string, learnedTokenCount: (r.learnedTokenCount as number | undefined) ?? 0, lastUsedAt: (r.lastUsedAt as string | undefined) ?? null,
}));

const stored = (issuer: TrustedIssuer) => ({
  ...issuer, preset: issuer.preset ?? undefined, claims: { ...issuer.claims, userName: issuer.claims.userName ?? undefined }, trustedSince: issuer.trustedSince ?? undefined,
});

export async function getIssuer(orgId: string, issuerId: string): Promise<TrustedIssuer | undefined> {
  return toIssuer(await getItem(issuerKeys.issuer(orgId, issuerId)));
}

/** What an issuer URL's copy says: the issuer trusting it now, or when the org last stopped trusting it (and the copy's version then). */
export interface IssuerUrl {
  trusted?: TrustedIssuer;
  distrusted?: { at: string; version: number };
}
export async function getIssuerUrl(orgId: string, issuer: string): Promise<IssuerUrl> {
  const item = await getItem(issuerKeys.byUrl(orgId, issuer));
  if (!item) return {};
  return typeof item.distrustedAt === 'string' ? { distrusted: { at: item.distrustedAt, version: Number(item.version) } } : { trusted: toIssuerByUrl(item) };
}

/** The issuer the org trusts whose tokens carry exactly this `iss`, if any: one GetItem. */
export async function getIssuerByUrl(orgId: string, issuer: string): Promise<TrustedIssuer | undefined> {
  return (await getIssuerUrl(orgId, issuer)).trusted;
}

type Condition = { expression: string; values?: Record<string, unknown> };
/** A URL's copy once the org stops trusting it: kept, with when (a later trust of the URL starts after it). */
const distrustedUrlWrite = (issuer: TrustedIssuer, at: string, unchanged: Condition) =>
  putWrite(itemOf('TrustedIssuerUrl', issuerKeys.byUrl(issuer.orgId, issuer.issuer), { ...stored(issuer), version: issuer.version + 1, distrustedAt: at }), unchanged);

/**
 * Stores an issuer: a new one only if neither its id nor its URL is taken (a URL the org stopped
 * trusting is free); a replacement only over the version read, moving its URL copy when the URL
 * changed (the new URL must be free; the old one's copy is kept as distrusted).
 */
export function putIssuerWrites(issuer: TrustedIssuer, previous: TrustedIssuer | undefined, url: IssuerUrl): Write[] {
  const record = stored(issuer);
  const unchangedSince = previous ? { expression: 'version = :seen', values: { ':seen': previous.version } } : { expression: 'attribute_not_exists(pk)' };
  const sameUrl = previous?.issuer === issuer.issuer;
  // A URL the org stopped trusting is taken over as read: another trust and distrust since would
  // have ended later, and its tokens must not be this trust's.
  const urlFree = url.distrusted ? { expression: 'version = :seen', values: { ':seen': url.distrusted.version } } : { expression: 'attribute_not_exists(pk)' };
  return [
    putWrite(itemOf('TrustedIssuer', issuerKeys.issuer(issuer.orgId, issuer.issuerId), record), unchangedSince),
    putWrite(itemOf('TrustedIssuerUrl', issuerKeys.byUrl(issuer.orgId, issuer.issuer), record), sameUrl ? unchangedSince : urlFree),
    ...(previous && !sameUrl ? [distrustedUrlWrite(previous, issuer.updatedAt, unchangedSince)] : []),
  ];
}

/** No longer trusted: its record and its counters go, and its URL copy says since when (they must be as read). */
export function deleteIssuerWrites(issuer: TrustedIssuer, at: string): Write[] {
  const unchanged = { expression: 'version = :seen', values: { ':seen': issuer.version } };
  return [
    deleteWrite(issuerKeys.issuer(issuer.orgId, issuer.issuerId), unchanged),
    distrustedUrlWrite(issuer, at, unchanged),
    ...Array.from({ length: ISSUER_SHARDS }, (_, n) => deleteWrite(issuerKeys.shard(issuer.orgId, issuer.issuerId, n))),
  ];
}

/** A first sight on one of the issuer's counter shards: one more token learned, and when. */
export function countLearnedWrite(issuer: Pick<TrustedIssuer, 'orgId' | 'issuerId'>, shard: number, at: string): Write {
  const key = issuerKeys.shard(issuer.orgId, issuer.issuerId, shard);
  return updateWrite({
    Key: key,
    UpdateExpression: 'SET #entity = :entity, issuerId = :issuerId, lastUsedAt = :at ADD learnedTokenCount :one',
    ExpressionAttributeNames: { '#entity': 'entity' },
    ExpressionAttributeValues: { ':entity': 'TrustedIssuerShard', ':issuerId': issuer.issuerId, ':at': at, ':one': 1 },
  });
}

const sumUsage = (shards: IssuerUsage[]): IssuerUsage => ({
  learnedTokenCount: shards.reduce((sum, s) => sum + s.learnedTokenCount, 0),
  lastUsedAt: shards.map((s) => s.lastUsedAt).filter((at): at is string => at !== null).sort().at(-1) ?? null,
});

/** One issuer's usage, summed over its shards: one BatchGetItem. */
export async function getIssuerUsage(orgId: string, issuerId: string): Promise<IssuerUsage> {
  const items = await batchGetConsistent(Array.from({ length: ISSUER_SHARDS }, (_, n) => issuerKeys.shard(orgId, issuerId, n)));
  return sumUsage(items.map((i) => toShard(i)!));
}

/**
 * One page of the org's issuers by id, each with its usage: one Query that reads records and
 * shards together (a shard sorts right after its record; an issuer not learned from yet has none).
 */
export async function listIssuers(orgId: string, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<TrustedIssuer & IssuerUsage>> {
  const page = await queryPage({ partition: partition(orgId), prefix: 'ISSUER#', limit: limit * (ISSUER_SHARDS + 1), startKey });
  const items: (TrustedIssuer & IssuerUsage)[] = [];
  const resumeKeys: Item[] = [];
  let shards: IssuerUsage[] = [];
  let current: TrustedIssuer | undefined;
  let resumeKey: Item | undefined;
  const flush = () => {
    if (current) {
      items.push({ ...current, ...sumUsage(shards) });
      resumeKeys.push(resumeKey as Item);
    }
  };
  for (const [n, item] of page.items.entries()) {
    if (item.entity === 'TrustedIssuer') {
      flush();
      current = toIssuer(item);
      shards = [];
    } else {
      const shard = toShard(item)!;
      if (shard.issuerId === current?.issuerId) shards.push(shard);
    }
    resumeKey = page.resumeKeys[n];
  }
  // The page may have stopped inside an issuer's shards: that issuer is read again on the next page.
  if (!page.lastKey || shards.length === ISSUER_SHARDS) flush();
  // More to read: resume after the last issuer shown (one cut off in its shards is read again).
  return { items, lastKey: page.lastKey && (items.length ? resumeKeys.at(-1) : page.lastKey), resumeKeys };
}

/** The issuer is still trusted exactly as read (not replaced, not distrusted), checked in a transaction that relies on it. */
export function issuerUnchangedCheck(issuer: TrustedIssuer): Write {
  return checkWrite(issuerKeys.byUrl(issuer.orgId, issuer.issuer), { expression: 'version = :seen', values: { ':seen': issuer.version } });
}
