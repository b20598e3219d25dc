import { BatchGetCommand, type BatchGetCommandInput, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import type { Entity } from './table.js';
import type { Key } from './keys.js';

type Item = Record<string, unknown>;

/** Strips storage-only attributes (keys, index keys, entity, TTL) off an item. */
export function recordOf<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g1s, entity: _e, ttl: _ttl, ...record } = item;
  return record as T;
}

export function itemOf(entity: Entity, key: Key, record: object, extra: Item = {}): Item {
  return { ...key, entity, ...record, ...extra };
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

/** Exponential backoff with full jitter, capped at 1 s. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(1000, 25 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Which items of a cancelled transaction failed their condition (indexes into TransactItems). */
export function failedConditions(error: unknown): number[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}
