import pMap from 'p-map';
import { BatchGetCommand, BatchWriteCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type BatchGetCommandInput, type BatchGetCommandOutput, type BatchWriteCommandInput, type BatchWriteCommandOutput, type QueryCommandOutput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { entityAttribute, table, type Entity, type IndexName } from './table.js';
import type { Key } from './keys.js';
import { backoff } from '../retry.js';

export { backoff };

type Item = Record<string, unknown>;

const storageAttributes = new Set<string>([
  table.partitionKey, table.sortKey, table.ttlAttribute, entityAttribute,
  ...Object.values(table.indexes).flatMap((i) => [i.partitionKey, i.sortKey]),
]);

/** Strips storage-only attributes (keys, index keys, entity, TTL) off an item. */
export function recordOf<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  return Object.fromEntries(Object.entries(item).filter(([name]) => !storageAttributes.has(name))) as T;
}

/**
 * Optional values are stored absent rather than NULL, so `if_not_exists` and
 * `attribute_not_exists` work on them; readers map absent back to null.
 */
export const withoutNulls = (record: object) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null));

export function itemOf(entity: Entity, key: Key, record: object, extra: Item = {}): Item {
  return { ...key, [entityAttribute]: entity, ...record, ...extra };
}

export const sameKey = (a: Key) => (item: Item) => item.pk === a.pk && item.sk === a.sk;

/**
 * Strongly consistent BatchGetItem for up to 100 keys in one round trip; unprocessed keys (rare,
 * under throttling) are retried with backoff. Returns items in no particular order.
 */
export async function batchGetConsistent(keysToGet: Key[]): Promise<Item[]> {
  const found: Item[] = [];
  let request: BatchGetCommandInput['RequestItems'] = { [TableName]: { Keys: keysToGet, ConsistentRead: true } };
  for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const out: BatchGetCommandOutput = await db.send(new BatchGetCommand({ RequestItems: request }));
    found.push(...(out.Responses?.[TableName] ?? []));
    request = out.UnprocessedKeys;
  }
  return found;
}

export function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));
}

const BATCH_WRITE_SIZE = 25;
/** BatchWriteItem calls in flight at once per call of `batchWrite`. */
export const BATCH_WRITE_CONCURRENCY = 4;
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Writes in full BatchWriteItem calls (25 requests each), retrying unprocessed items with backoff and jitter. */
export async function batchWrite(requests: WriteRequest[]): Promise<void> {
  await pMap(chunk(requests, BATCH_WRITE_SIZE), async (part) => {
    let request: BatchWriteCommandInput['RequestItems'] = { [TableName]: part };
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const out: BatchWriteCommandOutput = await db.send(new BatchWriteCommand({ RequestItems: request }));
      request = out.UnprocessedItems;
    }
  }, { concurrency: BATCH_WRITE_CONCURRENCY });
}


/** Which items of a cancelled transaction failed their condition (indexes into TransactItems). */
export function failedConditions(error: unknown): number[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}

export interface Page<T> {
  items: T[];
  lastKey: Record<string, unknown> | undefined;
}

export interface QuerySpec {
  /** Query an index instead of the table. */
  index?: IndexName;
  /** The partition to read, as index attributes (from indexKeys) or a table key's pk. */
  partition: string;
  /** Only sort keys starting with this. */
  prefix?: string;
  limit?: number;
  startKey?: Record<string, unknown>;
  /** Descending sort-key order. */
  descending?: boolean;
  consistent?: boolean;
  filter?: { expression: string; values: Record<string, unknown> };
}

/** One Query request: one page of one partition of the table or of an index. */
export async function queryPage(spec: QuerySpec): Promise<Page<Item>> {
  const names = spec.index ? table.indexes[spec.index] : table;
  const out: QueryCommandOutput = await db.send(new QueryCommand({
    TableName,
    IndexName: spec.index,
    KeyConditionExpression: spec.prefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': names.partitionKey, ...(spec.prefix === undefined ? {} : { '#sk': names.sortKey }) },
    ExpressionAttributeValues: { ':pk': spec.partition, ...(spec.prefix === undefined ? {} : { ':prefix': spec.prefix }), ...spec.filter?.values },
    FilterExpression: spec.filter?.expression,
    Limit: spec.limit,
    ExclusiveStartKey: spec.startKey,
    ScanIndexForward: !spec.descending,
    ConsistentRead: spec.consistent,
  }));
  return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
}

/** The partition value of an index-attribute map from `indexKeys`. */
export const partitionOf = (index: IndexName, attributes: Record<string, string>): string =>
  attributes[table.indexes[index].partitionKey] as string;

/** A conditional UpdateItem on the table: false, not an error, when its condition does not hold. */
export async function conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
  try {
    await db.send(new UpdateCommand({ TableName, ...input }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** One transaction; false when a condition failed or it conflicted with another. */
export async function transact(items: TransactItem[]): Promise<boolean> {
  try {
    await db.send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.length || (error as Error).name === 'TransactionConflictException') return false;
    throw error;
  }
}

