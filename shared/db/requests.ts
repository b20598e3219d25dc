/**
 * The requests every entity module builds on: one page of a Query, strongly consistent batch
 * reads, full BatchWriteItem calls, a conditional UpdateItem, expression clauses, and the mapping
 * between records and stored items. Transactions go through `unit-of-work.ts`.
 */
import pMap from 'p-map';
import { BatchGetCommand, BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand, type BatchWriteCommandInput, type QueryCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { chunk } from '../chunk.js';
import { retrying, RETRY } from '../retry.js';
import { db, TableName } from './client.js';
import { dueEntriesOfItem, dueEntriesOfUpdate, ensureDueMarkers } from './due-markers.js';
import { entityAttribute, table, type Entity, type IndexName } from './table.js';

export type Item = Record<string, unknown>;

export interface Key {
  pk: string;
  sk: string;
}

export interface Page<T> {
  items: T[];
  lastKey: Record<string, unknown> | undefined;
}

/** A page of a list answered to callers, which may be cut short (shared/domain/paging.ts). */
export interface ListedPage<T> extends Page<T> {
  /** Where the list resumes after item i (the LastEvaluatedKey DynamoDB would have given had it stopped there), aligned with `items`. */
  resumeKeys: Item[];
}

const storageAttributes = new Set<string>([
  table.partitionKey, table.sortKey, table.ttlAttribute, entityAttribute,
  ...Object.values(table.indexes).flatMap((i) => [i.partitionKey, i.sortKey]),
]);

/** The stored attributes of an item without its storage-only ones (keys, index keys, entity, TTL). */
export function attributesOf(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !storageAttributes.has(name)));
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
export const keyOf = (item: Item): Key => ({ pk: item.pk as string, sk: item.sk as string });

/** One strongly consistent GetItem (optionally of some attributes only). */
export async function getItem(key: Key, projection?: string): Promise<Item | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: key, ConsistentRead: true, ...(projection ? { ProjectionExpression: projection } : {}) }));
  return out.Item;
}

/**
 * Strongly consistent BatchGetItem for up to 100 keys in one round trip; unprocessed keys (rare,
 * under throttling) are asked for again. Returns items in no particular order.
 */
export const batchGetConsistent = (keysToGet: Key[]): Promise<Item[]> => batchGetConsistentFrom(TableName, keysToGet);

/** The same from another table than the service's: only a restored one (shared/db/table-copy.ts). */
export async function batchGetConsistentFrom(tableName: string, keysToGet: Key[]): Promise<Item[]> {
  const found: Item[] = [];
  let pending: Key[] = keysToGet;
  await retrying(async () => {
    const out = await db.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
    found.push(...(out.Responses?.[tableName] ?? []));
    pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
    return pending.length > 0 ? RETRY : undefined;
  }, () => new Error(`BatchGetItem left ${pending.length} keys unprocessed`), 16);
  return found;
}

const BATCH_WRITE_SIZE = 25;
/** BatchWriteItem calls in flight at once per call of `batchWrite`. */
export const BATCH_WRITE_CONCURRENCY = 4;
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Writes in full BatchWriteItem calls (25 requests each), sending unprocessed items again. */
export async function batchWrite(requests: WriteRequest[]): Promise<void> {
  await ensureDueMarkers(requests.flatMap((r) => dueEntriesOfItem(r.PutRequest?.Item)));
  await pMap(chunk(requests, BATCH_WRITE_SIZE), async (part) => {
    let pending = part;
    await retrying(async () => {
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: pending } }));
      pending = out.UnprocessedItems?.[TableName] ?? [];
      return pending.length > 0 ? RETRY : undefined;
    }, () => new Error(`BatchWriteItem left ${pending.length} items unprocessed`), 16);
  }, { concurrency: BATCH_WRITE_CONCURRENCY });
}

export interface QuerySpec {
  /** Query an index instead of the table. */
  index?: IndexName;
  /** The partition to read, as index attributes (from an entity's index keys) or a table key's pk. */
  partition: string;
  /** Only sort keys starting with this. */
  prefix?: string;
  /** Only sort keys between these (inclusive). */
  between?: [string, string];
  /** Only sort keys up to this (inclusive). */
  upTo?: string;
  limit?: number;
  startKey?: Record<string, unknown>;
  /** Descending sort-key order. */
  descending?: boolean;
  consistent?: boolean;
  filter?: { expression: string; values: Record<string, unknown>; names?: Record<string, string> };
  /** Count the matches instead of returning them. */
  count?: true;
}

/** The key a Query of the table or of `index` that stopped at `item` would resume from. */
export function resumeKeyOf(index: IndexName | undefined, item: Item): Item {
  const names = [table.partitionKey, table.sortKey, ...(index ? [table.indexes[index].partitionKey, table.indexes[index].sortKey] : [])];
  return Object.fromEntries(names.map((name) => [name, item[name]]));
}

/** One Query request: one page of one partition of the table or of an index. */
export async function queryPage(spec: QuerySpec): Promise<ListedPage<Item> & { count: number }> {
  const names = spec.index ? table.indexes[spec.index] : table;
  const range = spec.prefix !== undefined ? { condition: ' AND begins_with(#sk, :prefix)', values: { ':prefix': spec.prefix } }
    : spec.between ? { condition: ' AND #sk BETWEEN :from AND :to', values: { ':from': spec.between[0], ':to': spec.between[1] } }
    : spec.upTo !== undefined ? { condition: ' AND #sk <= :upTo', values: { ':upTo': spec.upTo } }
    : undefined;
  const input: QueryCommandInput = {
    TableName,
    IndexName: spec.index,
    KeyConditionExpression: `#pk = :pk${range?.condition ?? ''}`,
    ExpressionAttributeNames: { '#pk': names.partitionKey, ...(range ? { '#sk': names.sortKey } : {}), ...spec.filter?.names },
    ExpressionAttributeValues: { ':pk': spec.partition, ...range?.values, ...spec.filter?.values },
    FilterExpression: spec.filter?.expression,
    Limit: spec.limit,
    ExclusiveStartKey: spec.startKey,
    ScanIndexForward: !spec.descending,
    ConsistentRead: spec.consistent,
    ...(spec.count ? { Select: 'COUNT' } : {}),
  };
  const out = await db.send(new QueryCommand(input));
  const items = out.Items ?? [];
  return { items, lastKey: out.LastEvaluatedKey, resumeKeys: items.map((item) => resumeKeyOf(spec.index, item)), count: out.Count ?? 0 };
}

/** The partition value of an index-attribute map built by an entity module. */
export const partitionOf = (index: IndexName, attributes: Record<string, string>): string =>
  attributes[table.indexes[index].partitionKey] as string;

/** An UpdateItem (without TableName) as entity modules build it, for `conditionalUpdate` or a transaction. */
export type Update = Omit<UpdateCommandInput, 'TableName'>;

/** An UpdateItem whose condition may not hold: undefined then, not an error. */
async function updateIf(input: Update, returnItem: boolean) {
  try {
    await ensureDueMarkers(dueEntriesOfUpdate(input));
    return await db.send(new UpdateCommand({ TableName, ...input, ...(returnItem ? { ReturnValues: 'ALL_NEW' as const } : {}) }));
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}

/** A conditional UpdateItem on the table: false, not an error, when its condition does not hold. */
export const conditionalUpdate = async (input: Update): Promise<boolean> => (await updateIf(input, false)) !== undefined;

/** The same, returning the item after it; undefined when its condition does not hold. */
export const conditionalUpdateReturning = async (input: Update): Promise<Item | undefined> => (await updateIf(input, true))?.Attributes;

/**
 * Builds `SET a = :v, …` / `REMOVE a, …` clauses for attribute maps whose names come from the
 * table definition (index attributes), with placeholders that cannot collide with a caller's.
 */
export function setClause(attributes: Record<string, unknown>, tag: string) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = Object.entries(attributes).map(([name, value], i) => {
    names[`#${tag}${i}`] = name;
    values[`:${tag}${i}`] = value;
    return `#${tag}${i} = :${tag}${i}`;
  });
  return { parts, names, values };
}

export function removeClause(attributes: readonly string[], tag: string) {
  const names: Record<string, string> = {};
  const parts = attributes.map((name, i) => {
    names[`#${tag}${i}`] = name;
    return `#${tag}${i}`;
  });
  return { parts, names };
}
