import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { conditionalUpdate, recordOf } from './items.js';
import { keys } from './keys.js';
import { entityAttribute, table, type Entity } from './table.js';

type Item = Record<string, unknown>;

/** How far the sweep has handed out one due partition in its current pass. */
export interface DueCursor {
  /** The index key of the last entry handed out (the next Query starts after it); null: none yet. */
  cursor: Record<string, string> | null;
  passStartedAt: string;
  /** Bumped on every save, so two sweeps cannot both claim the same page. */
  version: number;
}

const { gsi4 } = table.indexes;

/**
 * One page of a partition of the due index: entries due by `dueBy` (a sort-key bound), oldest
 * first, after `cursor`. Reads only due entries: the key range stops at `dueBy`.
 */
export async function queryDue(partition: string, dueBy: string, limit: number, cursor?: Record<string, string> | null): Promise<{ entries: Item[]; more: boolean }> {
  const out = await db.send(new QueryCommand({
    TableName,
    IndexName: gsi4.name,
    KeyConditionExpression: '#pk = :pk AND #sk <= :dueBy',
    ExpressionAttributeNames: { '#pk': gsi4.partitionKey, '#sk': gsi4.sortKey },
    ExpressionAttributeValues: { ':pk': partition, ':dueBy': dueBy },
    Limit: limit,
    ...(cursor ? { ExclusiveStartKey: cursor } : {}),
  }));
  return { entries: out.Items ?? [], more: out.LastEvaluatedKey !== undefined };
}

/** The key of a due-index entry, as a Query's ExclusiveStartKey. */
export const entryKey = (entry: Item): Record<string, string> =>
  Object.fromEntries([table.partitionKey, table.sortKey, gsi4.partitionKey, gsi4.sortKey].map((name) => [name, String(entry[name])]));

export async function getDueCursors(): Promise<Record<string, DueCursor>> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.sweepState(), ConsistentRead: true }));
  return (recordOf<Record<string, DueCursor>>(out.Item) ?? {});
}

/** Saves a partition's cursor if no other sweep moved it since `seen`; false if one did. */
export function saveDueCursor(partition: string, seen: DueCursor | undefined, next: DueCursor): Promise<boolean> {
  return conditionalUpdate({
    Key: keys.sweepState(),
    UpdateExpression: 'SET #p = :next, #entity = :entity',
    ConditionExpression: seen ? '#p.version = :seen' : 'attribute_not_exists(#p)',
    ExpressionAttributeNames: { '#p': partition, '#entity': entityAttribute },
    ExpressionAttributeValues: { ':next': next, ':entity': 'SweepState' satisfies Entity, ...(seen ? { ':seen': seen.version } : {}) },
  });
}
