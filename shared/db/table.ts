/**
 * The one table's shape. The CDK stack, the local server and the tests all build the table from
 * these names, so they cannot drift. Index attribute names are generic; what each index holds is
 * decided by the entity modules (app.ts, app-user.ts, token.ts, job.ts, audit-event.ts, due-index.ts).
 */
export const table = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /**
   * DynamoDB TTL: removes a revoked token's tombstone once the token could no longer be presented,
   * and spent idempotency keys. Live tokens carry none: the sweep deletes them so counters stay exact.
   */
  ttlAttribute: 'ttl',
  indexes: {
    /** ALL: a user's tokens for an app; an org's apps (with shards) by name; audit events and jobs by app. */
    gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'ALL' },
    /** ALL, sparse: an org's apps that hold active tokens (with shards) by name; audit events by user; jobs by status. */
    gsi2: { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'ALL' },
    /** KEYS_ONLY, sparse: an app's active users by epoch and userId; audit events by app and user; jobs by app and status. */
    gsi3: { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projection: 'KEYS_ONLY' },
    /** KEYS_ONLY, sparse: an app's active users by epoch and last use; tokens and jobs by the time the sweep must look at them. */
    gsi4: { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk', projection: 'KEYS_ONLY' },
    /**
     * INCLUDE, sparse: an app's live tokens by the app epoch they were registered under, in
     * TOKEN_INDEX_SHARDS partitions, with what a tombstone keeps and the targets check needs. No
     * attribute a use changes is projected, so introspection never writes this index.
     */
    gsi6: {
      name: 'gsi6', partitionKey: 'gsi6pk', sortKey: 'gsi6sk', projection: 'INCLUDE',
      nonKeyAttributes: ['entity', 'orgId', 'appId', 'userId', 'lookupKey', 'tokenId', 'type', 'expiresAt', 'presentableUntil', 'refreshTokenId', 'appEpoch', 'userEpoch'],
    },
  },
} as const;

/** What an index definition may hold: INCLUDE indexes name the attributes they copy. */
export type IndexDefinition = (typeof table.indexes)[keyof typeof table.indexes];
export const projectedAttributes = (index: IndexDefinition): readonly string[] | undefined => ('nonKeyAttributes' in index ? index.nonKeyAttributes : undefined);

export type IndexName = keyof typeof table.indexes;

/** Entity-type attribute stored on every item. */
export const entityAttribute = 'entity';
export type Entity = 'App' | 'AppShard' | 'AppUser' | 'ApprovedUser' | 'ResourceServer' | 'UserAppLink' | 'Token' | 'TokenTombstone' | 'RevokedValue' | 'Grant' | 'AuditEvent' | 'RevocationJob' | 'IdempotencyKey' | 'SweepState' | 'MigrationState' | 'PolicyPass' | 'ReplayedRevocation' | 'TrustedIssuer' | 'TrustedIssuerUrl' | 'TrustedIssuerShard' | 'RateWindow' | 'OrgRateLimits' | 'DueMarker' | 'JobPartMessage' | 'OffboardedApp' | 'OrgUser' | 'UserDirectory' | 'AppUsageDay' | 'UserUsageDay' | 'OrgSettings' | 'AuditExport' | 'AuditExportPart' | 'AuditExportCount';

/**
 * An app is backed by this many shard items besides its row. Each shard holds a share of the
 * app's counters (registrations and cleanup spread their writes over them) and a copy of what
 * introspection and registration check (revocation epoch, policies, whether the app is listed as
 * active), so reads spread too. Whatever changes the epoch, the policies, the name or the active
 * flag writes the app row and every shard in one transaction. See README, "Capacity of one app".
 */
export const APP_SHARDS = 8;

/**
 * An app's live tokens of one epoch are listed (gsi6) in this many partitions, spread like the
 * app's counters, so registrations spread their index writes and the cleanup reads in parallel.
 * Stored in keys: changing it needs a backfill.
 */
export const TOKEN_INDEX_SHARDS = 8;

/**
 * An id (org, app, user) as it stands in a key. Ids never hold `#`, the keys' separator, but `!`
 * and `"` sort below it, so `a!b` would fall inside `a`'s key ranges (`APP#a` … `APP#a#~`). Those
 * two, and `$` the escape itself, are written `$!`, `$"`, `$$`: where one keyed id continues
 * another, the next character is above `#`; ids keep their order; no id of the earlier, narrower
 * alphabet changes (so no stored key did).
 */
export const keyPart = (id: string) => id.replace(/[!"$]/g, (c) => `$${c}`);
/** The id a key part holds. */
export const fromKeyPart = (part: string) => part.replace(/\$(.)/g, '$1');

/** Every key of tenant data starts with this, so no query can cross orgs. */
export const orgPrefix = (orgId: string) => `ORG#${keyPart(orgId)}`;

/**
 * The per-org request windows' partition (shared/db/rate-window.ts): `ORG#<org>#RATE`. No id holds
 * a `#`, so no other partition matches `ORG#*#RATE`, the IAM condition on `dynamodb:LeadingKeys`
 * under which the stack lets read-only functions report there.
 */
export const RATE_PARTITION_SUFFIX = '#RATE';
export const rateWindowPartitions = `ORG#*${RATE_PARTITION_SUFFIX}`;

/**
 * EventBridge filter patterns over the stream's records (the Pipe's FilterCriteria; at most five).
 * Revocations leave tombstones (one token, RFC 7009, a grant, a job's cleanup) or create a job
 * (whose epochs revoke at once); resource servers' secrets can be ended, and trusted issuers
 * distrusted (which ends the tokens learned from them); users blocked; the audit log goes too.
 * Nothing a use or a registration writes matches: a line per revoked token and per admin action, none per use.
 */
const trustEntities = ['ResourceServer', 'TrustedIssuer', 'TrustedIssuerUrl'] as const;
export const revocationLogFilters: readonly object[] = [
  // An org user changes only when an admin blocks, unblocks or offboards the user.
  { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { [entityAttribute]: { S: ['TokenTombstone', 'RevokedValue', 'OrgUser'] } } } },
  { eventName: ['INSERT'], dynamodb: { NewImage: { [entityAttribute]: { S: ['RevocationJob', 'AuditEvent'] } } } },
  { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { [entityAttribute]: { S: trustEntities } } } },
  { eventName: ['REMOVE'], dynamodb: { OldImage: { [entityAttribute]: { S: trustEntities } } } },
];
