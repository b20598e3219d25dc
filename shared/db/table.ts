/**
 * The one table's shape. The CDK stack, the local server and the tests all build the table from
 * these names, so they cannot drift.
 */
export const table = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** DynamoDB TTL backstop only; the sweep deletes expired items itself so counters stay exact. */
  ttlAttribute: 'ttl',
  indexes: {
    /** Children of a parent: a user's tokens for one app (sk `TOKEN#<tokenId>`). */
    gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  },
} as const;

export type IndexName = keyof typeof table.indexes;

/** Entity-type attribute stored on every item. */
export const entityAttribute = 'entity';
export type Entity = 'App' | 'AppShard' | 'AppUser' | 'Token';

/**
 * An app is backed by this many shard items besides its row. Each shard holds a share of the
 * app's counters (registrations and cleanup spread their writes over them) and a copy of what
 * introspection needs (revocation epoch, policies), so reads spread too. Whatever changes the
 * epoch or the policies writes the app row and every shard in one transaction. See README,
 * "Capacity of one app".
 */
export const APP_SHARDS = 8;
