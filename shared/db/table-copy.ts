/**
 * Copies a table restored to a point in time back into the service's own table, so the stack
 * keeps its table (its stream, TTL, alarms and grants, which a restore does not carry over): every
 * item of the restored table is written, every item it lacks is deleted. A parallel Scan of each;
 * idempotent, so a copy that stopped can be run again. See docs/operations.md, "Restoring the table".
 */
import pMap from 'p-map';
import { BatchGetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { chunk } from '../chunk.js';
import { db, TableName } from './client.js';
import { batchWrite, keyOf, type Item, type Key } from './requests.js';
import { table } from './table.js';

const SEGMENTS = 4;

async function scanAll(tableName: string, onPage: (items: Item[]) => Promise<void>, projection?: string): Promise<void> {
  await pMap(Array.from({ length: SEGMENTS }, (_, i) => i), async (segment) => {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({
        TableName: tableName, Segment: segment, TotalSegments: SEGMENTS, ExclusiveStartKey, ConsistentRead: true,
        ...(projection ? { ProjectionExpression: projection } : {}),
      }));
      await onPage(page.Items ?? []);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }, { concurrency: SEGMENTS });
}

/** The keys among `keys` that `tableName` holds (BatchGetItem calls of 100, unprocessed keys asked again). */
async function present(tableName: string, keys: Key[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunk(keys, 100)) {
    let pending: Key[] = part;
    while (pending.length > 0) {
      const out = await db.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: '#pk, #sk', ExpressionAttributeNames: { '#pk': table.partitionKey, '#sk': table.sortKey } } } }));
      for (const item of out.Responses?.[tableName] ?? []) found.add(`${item.pk as string}\n${item.sk as string}`);
      pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
    }
  }
  return found;
}

/** Makes the service's table hold exactly what `restoredTable` holds. */
export async function copyRestoredTable(restoredTable: string): Promise<{ written: number; deleted: number }> {
  let written = 0;
  let deleted = 0;
  await scanAll(restoredTable, async (items) => {
    await batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
    written += items.length;
  });
  await scanAll(TableName, async (items) => {
    const keys = items.map(keyOf);
    const kept = await present(restoredTable, keys);
    const gone = keys.filter((k) => !kept.has(`${k.pk}\n${k.sk}`));
    await batchWrite(gone.map((Key) => ({ DeleteRequest: { Key } })));
    deleted += gone.length;
  }, `${table.partitionKey}, ${table.sortKey}`);
  return { written, deleted };
}
