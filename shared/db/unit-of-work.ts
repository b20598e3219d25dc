/**
 * Transactions. Entity modules build writes (a Put, an Update, a Delete, a condition check) and
 * the domain decides which of them change together; `commit` sends them as one
 * TransactWriteItems. The domain sees only the opaque `Write`, never the SDK's types.
 */
import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { stampedAtCommit } from './audit-event.js';
import { expireAuditEvents } from './audit-retention.js';
import { dueEntriesOfItem, dueEntriesOfUpdate, ensureDueMarkers } from './due-markers.js';
import type { Item, Key, Update } from './requests.js';

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

declare const opaque: unique symbol;
/** One write of a transaction, built by an entity module. */
export interface Write {
  readonly [opaque]: 'Write';
}

const write = (item: TransactItem) => item as unknown as Write;
export const putWrite = (item: Item, condition?: { expression: string; values?: Item; names?: Record<string, string> }) =>
  write({ Put: { TableName, Item: item, ...(condition ? {
    ConditionExpression: condition.expression,
    ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}),
    ...(condition.names ? { ExpressionAttributeNames: condition.names } : {}),
  } : {}) } });
export const updateWrite = (update: Update) => write({ Update: { TableName, ...update } as NonNullable<TransactItem['Update']> });
export const deleteWrite = (key: Key, condition?: { expression: string; values?: Item }) =>
  write({ Delete: { TableName, Key: key, ...(condition ? { ConditionExpression: condition.expression, ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}) } : {}) } });

/** A condition on an item the transaction does not change. */
export const checkWrite = (key: Key, condition: { expression: string; values?: Item }) =>
  write({ ConditionCheck: { TableName, Key: key, ConditionExpression: condition.expression, ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}) } });

/**
 * Sends `writes` as one transaction: null when it committed; otherwise the positions (in
 * `writes`) whose condition failed, empty when it lost only to a concurrent transaction.
 */
export async function commitOrFailures(writes: Write[]): Promise<number[] | null> {
  try {
    // The SDK may send it again after a lost answer; the token makes that a no-op, not a failed condition.
    const items = writes as unknown as TransactItem[];
    await ensureDueMarkers(items.flatMap((w) => [...dueEntriesOfItem(w.Put?.Item), ...(w.Update ? dueEntriesOfUpdate(w.Update) : [])]));
    // Stamped after the awaits above, and before the TTL (from an event's time) is set.
    const now = Date.now();
    for (const item of items) if (item.Put) item.Put.Item = stampedAtCommit(item.Put.Item as Item, now);
    await expireAuditEvents(items.flatMap((w) => (w.Put ? [w.Put.Item as Item] : [])));
    await db.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: randomUUID() }));
    return null;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TransactionConflictException') return [];
    if (name !== 'TransactionCanceledException') throw error;
    const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
    if (failed.length === 0 && !reasons.some((r) => r.Code === 'TransactionConflict')) throw error;
    return failed;
  }
}

/** Sends `writes` as one transaction; false when a condition failed or it lost to a concurrent one. */
export async function commit(writes: Write[]): Promise<boolean> {
  return (await commitOrFailures(writes)) === null;
}
