/**
 * The sweep-state entity: how far the sweep has handed out each of an org's due token partitions
 * in its current pass, so that a pass pages past entries it handed out already (they stay in the
 * index until the worker settles them). One item per org, beside its due markers.
 */
import { conditionalUpdate, getItem, attributesOf, type Key } from './requests.js';
import { entityAttribute, orgPrefix, type Entity } from './table.js';

/** How far the sweep has handed out one due partition in its current pass. */
export interface DueCursor {
  /** The index key of the last entry handed out (the next Query starts after it); null: none yet. */
  cursor: Record<string, string> | null;
  passStartedAt: string;
  /** Bumped on every save, so two sweeps cannot both claim the same page. */
  version: number;
}

const stateKey = (orgId: string): Key => ({ pk: `${orgPrefix(orgId)}#DUE`, sk: 'CURSORS' });

/** The org's cursors by partition, and until when a chain of token rounds holds its tokens (if one does). */
export async function getDueCursors(orgId: string): Promise<{ cursors: Record<string, DueCursor>; tokenChainUntil: string | undefined }> {
  const item = await getItem(stateKey(orgId));
  const { orgId: _org, tokenChainUntil, ...cursors } = item ? attributesOf(item) : {};
  return { cursors: cursors as Record<string, DueCursor>, tokenChainUntil: tokenChainUntil as string | undefined };
}

/** Holds the org's due tokens for its chain of token rounds until `until` (a lost chain's lease runs out); null lets them go. */
export async function holdTokenChain(orgId: string, until: string | null): Promise<void> {
  await conditionalUpdate(until === null
    ? { Key: stateKey(orgId), UpdateExpression: 'REMOVE tokenChainUntil', ConditionExpression: 'attribute_exists(pk)' }
    : {
      Key: stateKey(orgId),
      UpdateExpression: 'SET tokenChainUntil = :until, #entity = :entity, orgId = :org',
      ExpressionAttributeNames: { '#entity': entityAttribute },
      ExpressionAttributeValues: { ':until': until, ':entity': 'SweepState' satisfies Entity, ':org': orgId },
    });
}

/** Saves a partition's cursor if no other sweep moved it since `seen`; false if one did. */
export function saveDueCursor(orgId: string, partition: string, seen: DueCursor | undefined, next: DueCursor): Promise<boolean> {
  return conditionalUpdate({
    Key: stateKey(orgId),
    UpdateExpression: 'SET #p = :next, #entity = :entity, orgId = :org',
    ConditionExpression: seen ? '#p.version = :seen' : 'attribute_not_exists(#p)',
    ExpressionAttributeNames: { '#p': partition, '#entity': entityAttribute },
    ExpressionAttributeValues: { ':next': next, ':entity': 'SweepState' satisfies Entity, ':org': orgId, ...(seen ? { ':seen': seen.version } : {}) },
  });
}
