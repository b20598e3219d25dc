/**
 * Copies a table restored to a point in time back into the service's own table, so the stack
 * keeps its table (its stream, TTL, alarms and grants, which a restore does not carry over): every
 * item of the restored table is written, every item it lacks is deleted (but the sweep's due markers). A parallel Scan of each;
 * idempotent, so a copy that stopped can be run again. See docs/operations.md, "Restoring the table".
 */
import pMap from 'p-map';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { chunk } from '../chunk.js';
import { db, TableName } from './client.js';
import { batchGetConsistentFrom, batchWrite, keyOf, type Item } from './requests.js';
import { entityAttribute, table, type Entity } from './table.js';

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

/** Makes the service's table hold exactly what `restoredTable` holds. */
export async function copyRestoredTable(restoredTable: string): Promise<{ written: number; deleted: number }> {
  let written = 0;
  let deleted = 0;
  await scanAll(restoredTable, async (items) => {
    await batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
    written += items.length;
  });
  await scanAll(TableName, async (items) => {
    // Due markers stay: containers that wrote one trust it until its bucket ends, and an extra
    // marker only costs its org an empty round of the sweep (which deletes it).
    const keys = items.filter((item) => item[entityAttribute] !== ('DueMarker' satisfies Entity)).map(keyOf);
    const kept = new Set((await pMap(chunk(keys, 100), (part) => batchGetConsistentFrom(restoredTable, part), { concurrency: 1 })).flat().map((i) => `${i.pk as string}\n${i.sk as string}`));
    const gone = keys.filter((k) => !kept.has(`${k.pk}\n${k.sk}`));
    await batchWrite(gone.map((Key) => ({ DeleteRequest: { Key } })));
    deleted += gone.length;
  }, `${table.partitionKey}, ${table.sortKey}, ${entityAttribute}`);
  return { written, deleted };
}
