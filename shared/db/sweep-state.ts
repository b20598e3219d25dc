/**
 * The sweep-state entity (not tenant data): how far the sweep has handed out each partition of
 * the due index in its current pass, so that a pass pages past entries it skips.
 */
import { conditionalUpdate, getItem, attributesOf, type Key } from './requests.js';
import { entityAttribute, type Entity } from './table.js';

/** How far the sweep has handed out one due partition in its current pass. */
export interface DueCursor {
  /** The index key of the last entry handed out (the next Query starts after it); null: none yet. */
  cursor: Record<string, string> | null;
  passStartedAt: string;
  /** Bumped on every save, so two sweeps cannot both claim the same page. */
  version: number;
}

const stateKey = (): Key => ({ pk: 'SWEEP', sk: 'STATE' });

export async function getDueCursors(): Promise<Record<string, DueCursor>> {
  const item = await getItem(stateKey());
  return item ? (attributesOf(item) as Record<string, DueCursor>) : {};
}

/** Saves a partition's cursor if no other sweep moved it since `seen`; false if one did. */
export function saveDueCursor(partition: string, seen: DueCursor | undefined, next: DueCursor): Promise<boolean> {
  return conditionalUpdate({
    Key: stateKey(),
    UpdateExpression: 'SET #p = :next, #entity = :entity',
    ConditionExpression: seen ? '#p.version = :seen' : 'attribute_not_exists(#p)',
    ExpressionAttributeNames: { '#p': partition, '#entity': entityAttribute },
    ExpressionAttributeValues: { ':next': next, ':entity': 'SweepState' satisfies Entity, ...(seen ? { ':seen': seen.version } : {}) },
  });
}
