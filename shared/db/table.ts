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
export type Entity = 'App' | 'AppCounterShard' | 'AppUser' | 'Token';

/**
 * An app's counters are spread over this many shard items so that registrations and cleanup do
 * not all write one hot item (see README, "Capacity of one app").
 */
export const APP_COUNTER_SHARDS = 8;
