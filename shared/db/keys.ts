/**
 * Every key the service writes, built in one place. Tenant keys start with the org, so no query
 * can cross orgs. Ids never contain `#` (see idSchema), which makes the separators unambiguous,
 * and every id character sorts after `#`, so an app's shard items sort right behind the app.
 * App names may contain anything but control characters, so name-ordered keys separate the name
 * from the id with U+0000, which sorts before every other character.
 */
import { APP_SHARDS, table } from './table.js';

export interface Key {
  pk: string;
  sk: string;
}

const org = (orgId: string) => `ORG#${orgId}`;
const SEP = '\u0000';
const { gsi1, gsi2, gsi3, gsi4, gsi5 } = table.indexes;

/** Sort key by case-insensitive name, then appId (and shard), so an app and its shards are adjacent. */
const byName = (name: string, appId: string, shard?: number) =>
  `${name.toLowerCase()}${SEP}${appId}${shard === undefined ? '' : `${SEP}${shard}`}`;

export const keys = {
  /** An org's apps and their shards share one item collection: `APP#<appId>[#SHARD#<n>]`. */
  app: (orgId: string, appId: string): Key => ({ pk: org(orgId), sk: `APP#${appId}` }),
  appShard: (orgId: string, appId: string, shard: number): Key => ({ pk: org(orgId), sk: `APP#${appId}#SHARD#${shard}` }),
  /** Bounds of one app's collection (the app row and its shards), for a single Query. */
  appCollection: (orgId: string, appId: string) => ({ pk: org(orgId), from: `APP#${appId}`, to: `APP#${appId}#~` }),

  /** An app's users: usage row with counters and the user's revocation epoch. */
  appUser: (orgId: string, appId: string, userId: string): Key => ({ pk: `${org(orgId)}#APP#${appId}`, sk: `USER#${userId}` }),

  /** Tokens are keyed by the keyed hash of their raw value, so introspection is one GetItem. */
  token: (orgId: string, lookupKey: string): Key => ({ pk: `${org(orgId)}#TOKEN#${lookupKey}`, sk: 'TOKEN' }),

  /** Revocation jobs of the org, newest last in key order (job ids sort by time). */
  job: (orgId: string, jobId: string): Key => ({ pk: `${org(orgId)}#JOBS`, sk: `JOB#${jobId}` }),
  /** A used Idempotency-Key (by its hash), pointing at the job it created. */
  idempotencyKey: (orgId: string, keyHash: string): Key => ({ pk: `${org(orgId)}#IDEMPOTENCY#${keyHash}`, sk: 'IDEMPOTENCY' }),

  /** The audit log, newest last in key order; event ids sort by time. */
  auditEvent: (orgId: string, eventId: string): Key => ({ pk: `${org(orgId)}#AUDIT`, sk: `EVENT#${eventId}` }),

  /** The sweep's own state (not tenant data): how far it has handed out each due-token partition. */
  sweepState: (): Key => ({ pk: 'SWEEP', sk: 'STATE' }),
};

/**
 * The due index (gsi4, KEYS_ONLY, sparse): what the sweep must look at, by the time it is due.
 * Tokens are spread over DUE_TOKEN_PARTITIONS partitions by their lookup key, so registrations
 * do not all write one index partition; jobs (few) share one. A sort key starts with the ISO due
 * time, so "due by now" is one key range, then names what the sweep needs to group the work
 * without reading the item. Ids never contain `#`.
 */
export const DUE_TOKEN_PARTITIONS = 8;
export const dueKeys = {
  tokenPartition: (n: number) => `DUE#TOKENS#${n}`,
  token: (dueAt: string, orgId: string, appId: string, userId: string, lookupKey: string) => ({
    // By the hash's first byte (after any `<key version>-`), so tokens spread evenly over the partitions.
    [gsi4.partitionKey]: dueKeys.tokenPartition(Number.parseInt(lookupKey.slice(lookupKey.indexOf('-') + 1).slice(0, 2), 16) % DUE_TOKEN_PARTITIONS),
    [gsi4.sortKey]: `${dueAt}#${orgId}#${appId}#${userId}`,
  }),
  jobPartition: 'DUE#JOBS',
  job: (dueAt: string, orgId: string, jobId: string) => ({
    [gsi4.partitionKey]: dueKeys.jobPartition,
    [gsi4.sortKey]: `${dueAt}#${orgId}#${jobId}`,
  }),
  /** The upper bound of a range query for everything due at `at`. */
  dueBy: (at: string) => `${at}#~`,
  /** What a token's entry in the due index names. */
  parseToken: (entry: Record<string, unknown>) => {
    const [, orgId = '', appId = '', userId = ''] = String(entry[gsi4.sortKey]).split('#');
    return { orgId, appId, userId, lookupKey: String(entry.pk).split('#').at(-1) ?? '' };
  },
  /** What a job's entry in the due index names. */
  parseJob: (entry: Record<string, unknown>) => {
    const [dueAt = '', orgId = '', jobId = ''] = String(entry[gsi4.sortKey]).split('#');
    return { dueAt, orgId, jobId };
  },
};
/** Attributes whose presence puts an item in the due index. */
export const dueIndexAttributes = [gsi4.partitionKey, gsi4.sortKey] as const;

/** Index attributes, by what they list. Each returns the attributes to store on the item. */
export const indexKeys = {
  /** gsi1: a user's tokens for one app, by token id. */
  userTokens: (orgId: string, appId: string, userId: string, tokenId = '') => ({
    [gsi1.partitionKey]: `${org(orgId)}#APP#${appId}#USER#${userId}`,
    [gsi1.sortKey]: `TOKEN#${tokenId}`,
  }),
  /** gsi1: every app of the org (row and shards) by name. */
  appsByName: (orgId: string, name: string, appId: string, shard?: number) => ({
    [gsi1.partitionKey]: `${org(orgId)}#APPS`,
    [gsi1.sortKey]: byName(name, appId, shard),
  }),
  /** gsi2 (sparse): the org's apps that hold active tokens (row and shards) by name. */
  activeAppsByName: (orgId: string, name: string, appId: string, shard?: number) => ({
    [gsi2.partitionKey]: `${org(orgId)}#ACTIVE-APPS`,
    [gsi2.sortKey]: byName(name, appId, shard),
  }),
  /** gsi3 (sparse): an app's users holding active tokens, by userId. */
  activeUsersById: (orgId: string, appId: string, userId: string) => ({
    [gsi3.partitionKey]: `${org(orgId)}#APP#${appId}#ACTIVE-USERS`,
    [gsi3.sortKey]: `USER#${userId}`,
  }),
  /** gsi4 (sparse): an app's users holding active tokens, by last use (never used sorts lowest). */
  activeUsersByLastUse: (orgId: string, appId: string) => ({ [gsi4.partitionKey]: `${org(orgId)}#APP#${appId}#ACTIVE-USERS` }),
  lastUseSort: (lastUsedAt: string | null, userId: string) => ({ [gsi4.sortKey]: `${lastUsedAt ?? '0'}#${userId}` }),
  /** gsi5 (sparse): a user's apps with active tokens, by appId. */
  activeAppsOfUser: (orgId: string, userId: string, appId: string) => ({
    [gsi5.partitionKey]: `${org(orgId)}#USER#${userId}#ACTIVE-APPS`,
    [gsi5.sortKey]: `APP#${appId}`,
  }),
  /** Audit events by app (gsi1), by user (gsi2), by both (gsi3), newest last in key order. */
  auditByApp: (orgId: string, appId: string, eventId: string) => ({ [gsi1.partitionKey]: `${org(orgId)}#AUDIT#APP#${appId}`, [gsi1.sortKey]: `EVENT#${eventId}` }),
  auditByUser: (orgId: string, userId: string, eventId: string) => ({ [gsi2.partitionKey]: `${org(orgId)}#AUDIT#USER#${userId}`, [gsi2.sortKey]: `EVENT#${eventId}` }),
  auditByAppAndUser: (orgId: string, appId: string, userId: string, eventId: string) => ({
    [gsi3.partitionKey]: `${org(orgId)}#AUDIT#APP#${appId}#USER#${userId}`,
    [gsi3.sortKey]: `EVENT#${eventId}`,
  }),
};

/** Jobs by app (gsi1), by status (gsi2), by both (gsi3). Status keys move with the job's status. */
export const jobIndexKeys = (orgId: string, appId: string, status: string, jobId: string) => ({
  [gsi1.partitionKey]: `${org(orgId)}#JOBS#APP#${appId}`,
  [gsi1.sortKey]: `JOB#${jobId}`,
  [gsi2.partitionKey]: `${org(orgId)}#JOBS#STATUS#${status}`,
  [gsi2.sortKey]: `JOB#${jobId}`,
  [gsi3.partitionKey]: `${org(orgId)}#JOBS#APP#${appId}#STATUS#${status}`,
  [gsi3.sortKey]: `JOB#${jobId}`,
});

/** Attributes whose presence puts a user row in the active-user and user's-apps lists. */
export const activeUserIndexAttributes = [gsi3.partitionKey, gsi3.sortKey, gsi4.partitionKey, gsi5.partitionKey, gsi5.sortKey] as const;
/** Attributes whose presence lists an app (row and shards) as holding active tokens. */
export const activeAppIndexAttributes = [gsi2.partitionKey, gsi2.sortKey] as const;

/** A shard picked at random, so a busy app's reads and writes spread evenly over its shards. */
export function randomShard(random: () => number = Math.random): number {
  return Math.floor(random() * APP_SHARDS) % APP_SHARDS;
}
