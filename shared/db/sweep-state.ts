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

/** A chain of token rounds that holds the org's due tokens: its id, and until when its lease lasts. */
export interface TokenChain { id: string; until: string }

/** The org's cursors by partition, and the chain of token rounds that holds its tokens (if one does). */
export async function getDueCursors(orgId: string): Promise<{ cursors: Record<string, DueCursor>; tokenChain: TokenChain | undefined }> {
  const item = await getItem(stateKey(orgId));
  const { orgId: _org, tokenChain, ...cursors } = item ? attributesOf(item) : {};
  return { cursors: cursors as Record<string, DueCursor>, tokenChain: tokenChain as TokenChain | undefined };
}

/**
 * Takes (`from` undefined: only if no chain holds an unexpired lease) or renews (`from`: only if
 * that chain still holds it) the lease of chain `chain` on the org's due tokens until `until`.
 * False when another chain holds it: this one stops.
 */
export function holdTokenChain(orgId: string, chain: TokenChain, from: string | undefined, now: string): Promise<boolean> {
  return conditionalUpdate({
    Key: stateKey(orgId),
    UpdateExpression: 'SET tokenChain = :chain, #entity = :entity, orgId = :org',
    ConditionExpression: from === undefined ? 'attribute_not_exists(tokenChain) OR tokenChain.#until <= :now' : 'tokenChain.id = :from',
    ExpressionAttributeNames: { '#entity': entityAttribute, ...(from === undefined ? { '#until': 'until' } : {}) },
    ExpressionAttributeValues: { ':chain': chain, ':entity': 'SweepState' satisfies Entity, ':org': orgId, ...(from === undefined ? { ':now': now } : { ':from': from }) },
  });
}

/** Lets the org's tokens go when chain `id` ends (unless another chain took them meanwhile). */
export async function releaseTokenChain(orgId: string, id: string): Promise<void> {
  await conditionalUpdate({ Key: stateKey(orgId), UpdateExpression: 'REMOVE tokenChain', ConditionExpression: 'tokenChain.id = :id', ExpressionAttributeValues: { ':id': id } });
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
