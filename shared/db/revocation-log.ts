/**
 * The revocation log: what a point-in-time restore of the table would take back, kept outside it.
 * The stack sends the table's stream (new and old images) through an EventBridge Pipe that keeps
 * only the changes `revocationLogFilters` (in table.ts, which the stack reads) match, to Firehose and S3, one stream record (as JSON)
 * a line. `loggedChange` reads such a line back; the writes below re-apply what it recorded
 * (shared/domain/restore-replay.ts decides which). See docs/operations.md, "Restoring the table".
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { chunk } from '../chunk.js';
import { commit, deleteWrite, putWrite } from './unit-of-work.js';
import { getItem, itemOf, withoutNulls, type Item, type Key } from './requests.js';
import { entityAttribute, orgPrefix, keyPart, type Entity } from './table.js';

export { revocationLogFilters } from './table.js';

/** One change the log kept: the item after it (or, removed, before it). */
export interface LoggedChange {
  change: 'put' | 'remove';
  entity: Entity;
  item: Item;
  /** When DynamoDB made the change (the stream's approximate time, to the second or better). */
  at: number;
  /** The stream's sequence number: orders the changes of one item. */
  sequence: bigint;
}

interface StreamRecord {
  eventName?: string;
  dynamodb?: { ApproximateCreationDateTime?: number; NewImage?: Record<string, unknown>; OldImage?: Record<string, unknown>; SequenceNumber?: string };
}

/** A line of the log (a DynamoDB stream record as the Pipe delivers it); undefined for anything else. */
export function loggedChange(line: string): LoggedChange | undefined {
  const record = JSON.parse(line) as StreamRecord;
  const { dynamodb } = record;
  const image = record.eventName === 'REMOVE' ? dynamodb?.OldImage : dynamodb?.NewImage;
  if (!dynamodb || !image || dynamodb.ApproximateCreationDateTime === undefined || dynamodb.SequenceNumber === undefined) return undefined;
  const item = unmarshall(image as Parameters<typeof unmarshall>[0]);
  return {
    change: record.eventName === 'REMOVE' ? 'remove' : 'put',
    entity: item[entityAttribute] as Entity,
    item,
    at: Math.round(dynamodb.ApproximateCreationDateTime * 1000),
    sequence: BigInt(dynamodb.SequenceNumber),
  };
}

/** Puts a logged item back only where nothing is stored under its key; false if something is. */
export const putIfAbsent = (item: Item): Promise<boolean> => commit([putWrite(item, { expression: 'attribute_not_exists(pk)' })]);

/** A versioned item as logged (a resource server, a trusted issuer and its URL copy), unless what is stored is as new or newer. */
export const putIfNewerVersion = (item: Item): Promise<boolean> =>
  commit([putWrite(item, { expression: 'attribute_not_exists(pk) OR version < :version', values: { ':version': item.version } })]);

/** A logged removal of a versioned item, unless what is stored is newer than what was removed. */
export const removeIfNotNewerVersion = (item: Item): Promise<boolean> =>
  commit([deleteWrite({ pk: item.pk as string, sk: item.sk as string }, { expression: 'version <= :version', values: { ':version': item.version } })]);

const replayedKey = (orgId: string, jobId: string): Key => ({ pk: `${orgPrefix(orgId)}#REPLAYED`, sk: `JOB#${keyPart(jobId)}` });

/** Whether a logged job was re-applied already (by an earlier run of the replay). */
export const wasReplayed = async (orgId: string, jobId: string): Promise<boolean> => (await getItem(replayedKey(orgId, jobId))) !== undefined;

/** Remembers, for good, that a logged job was re-applied (by `byJobId`), so another run of the replay never repeats it. */
export async function markReplayed(orgId: string, jobIds: string[], byJobId: string | null, at: string): Promise<void> {
  for (const part of chunk(jobIds, 100)) {
    await commit(part.map((jobId) => putWrite(itemOf('ReplayedRevocation', replayedKey(orgId, jobId), withoutNulls({ orgId, jobId, byJobId, at })))));
  }
}
