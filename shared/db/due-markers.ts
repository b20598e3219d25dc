/**
 * The due markers: which orgs have due work, and from when. Each org's due entries live in
 * partitions of its own (due-index.ts); the sweep finds the orgs to look at through a marker per
 * org and time bucket, itself an entry of the due index (keys only) in one of DUE_ORG_SHARDS
 * partitions, chosen by a hash of the org, with the bucket's start as its sort key. So the sweep
 * reads O(orgs with work due now) markers, and no org's entries share a partition with another's.
 *
 * A marker is written before the due entries it covers (`ensureDueMarkers`, called by the write
 * layer for every write that puts an item in the due index, so no writer can forget it), at most
 * once per container and bucket: a put of the same item, idempotent, never contended. A bucket
 * holds the entries due within it, or already due when written (they go to the bucket of the
 * writer's now). Nothing writes into a bucket once it has ended, so the sweep deletes a marker
 * `MARKER_GRACE_MS` after its end once the org has no entry due before the end left.
 */
import { createHash } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { entityAttribute, fromKeyPart, keyPart, orgPrefix, table, type Entity } from './table.js';
import { retrying, RETRY } from '../retry.js';
import { canonicalTime, isCanonicalTime } from '../time.js';

const { gsi4 } = table.indexes;

/** Partitions of the due index the markers are spread over (by a hash of the org). */
export const DUE_ORG_SHARDS = 16;
/** How long after its bucket ends a marker is kept at least: more than any clock skew between containers and any write's time in flight. */
export const MARKER_GRACE_MS = 10 * 60_000;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The prefix of an org's own due partitions (jobs, and its token shards). */
export const orgDuePrefix = (orgId: string) => `DUE#${orgPrefix(orgId)}#`;
const orgOfDuePartition = (partition: string): string | undefined => /^DUE#ORG#([^#]+)#/.exec(partition)?.[1];

export const markerKeys = {
  shard: (n: number) => `DUEORGS#${n}`,
  shardOf: (orgId: string) => createHash('sha256').update(orgId).digest()[0] as number % DUE_ORG_SHARDS,
  marker: (orgId: string, bucket: DueBucket) => ({
    pk: `${orgPrefix(orgId)}#DUE`, sk: `BUCKET#${bucket.start}#${bucket.end}`,
    [gsi4.partitionKey]: markerKeys.shard(markerKeys.shardOf(orgId)), [gsi4.sortKey]: `${bucket.start}#${keyPart(orgId)}#${bucket.end}`,
  }),
  /** What a marker's index entry names. */
  parse: (entry: Record<string, unknown>) => {
    const [start = '', org = '', end = ''] = String(entry[gsi4.sortKey]).split('#');
    return { orgId: fromKeyPart(org), bucket: { start, end } };
  },
};

export interface DueBucket { start: string; end: string }

/**
 * The bucket of an entry due at `dueAt`, written at `now`: finer near now (5 minutes within the
 * hour, then hours for two days, then days), so an org is looked at soon after its work is due
 * while one that is due far ahead holds few markers. An entry already due goes to now's bucket.
 */
export function dueBucket(dueAt: string, now: number): DueBucket {
  const at = Math.max(sortsAt(dueAt, now), now);
  const ahead = at - now;
  const size = ahead < HOUR ? 5 * MINUTE : ahead < 2 * DAY ? HOUR : DAY;
  const start = Math.floor(at / size) * size;
  return { start: canonicalTime(start), end: canonicalTime(start + size) };
}

/**
 * When the sweep's "due by now" range reaches a due time: the time itself, or for one not in the
 * stored form (kept from before times were bounded) the instant its text sorts at: its first 19
 * characters (`2028-04-30T23:00:00-05:00` sorts just before `2028-04-30T23:00:00.000Z`), or the
 * beginning of time (`+010000-…` sorts before every year).
 */
function sortsAt(dueAt: string, now: number): number {
  if (isCanonicalTime(dueAt)) return Date.parse(dueAt);
  const seconds = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(dueAt)?.[0];
  const at = seconds === undefined ? Number.NaN : Date.parse(`${seconds}.000Z`);
  return Number.isFinite(at) ? at : now;
}

/** An entry of the due index as a write puts it: the org it belongs to and when it is due (markers themselves, and entries of older keys, need none). */
function dueEntryOf(partition: unknown, sortKey: unknown): { orgId: string; dueAt: string } | undefined {
  const org = typeof partition === 'string' ? orgOfDuePartition(partition) : undefined;
  if (org === undefined || typeof sortKey !== 'string') return undefined;
  return { orgId: fromKeyPart(org), dueAt: sortKey.split('#')[0] ?? '' };
}

/** The due entries an item puts (a Put's item). */
export const dueEntriesOfItem = (item: Record<string, unknown> | undefined) => {
  const entry = item && dueEntryOf(item[gsi4.partitionKey], item[gsi4.sortKey]);
  return entry ? [entry] : [];
};

/** The due entries an UpdateItem puts: its `SET #n = :v` of the due index's attributes. */
export function dueEntriesOfUpdate(update: { UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }) {
  const names = update.ExpressionAttributeNames ?? {};
  if (!Object.values(names).includes(gsi4.partitionKey)) return [];
  const set: Record<string, unknown> = {};
  for (const [, name, value] of (update.UpdateExpression ?? '').matchAll(/(#\w+)\s*=\s*(:\w+)/g)) {
    const attribute = names[name as string];
    if (attribute === gsi4.partitionKey || attribute === gsi4.sortKey) set[attribute] = update.ExpressionAttributeValues?.[value as string];
  }
  return dueEntriesOfItem(set);
}

/** Markers this container wrote, by key, until their bucket ends (none is deleted before then). */
const written = new Map<string, number>();

/**
 * Makes sure the markers of these due entries exist before the entries are written: the ones this
 * container has not written in their bucket yet, in one BatchWriteItem (none in the steady state).
 */
export async function ensureDueMarkers(entries: { orgId: string; dueAt: string }[], now = Date.now()): Promise<void> {
  if (entries.length === 0) return;
  const missing = new Map<string, Record<string, unknown>>();
  for (const { orgId, dueAt } of entries) {
    const bucket = dueBucket(dueAt, now);
    const key = markerKeys.marker(orgId, bucket);
    const id = `${key.pk}\n${key.sk}`;
    if ((written.get(id) ?? 0) > now) continue;
    missing.set(id, { ...key, [entityAttribute]: 'DueMarker' satisfies Entity, orgId, bucketStart: bucket.start, bucketEnd: bucket.end });
  }
  if (missing.size === 0) return;
  for (const [id, at] of written) if (at <= now) written.delete(id);
  const items = [...missing.values()];
  for (let i = 0; i < items.length; i += 25) {
    let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await retrying(async () => {
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: pending } }));
      pending = (out.UnprocessedItems?.[TableName] ?? []) as typeof pending;
      return pending.length > 0 ? RETRY : undefined;
    }, () => new Error(`Could not write ${pending.length} due markers`), 16);
  }
  for (const [id, item] of missing) written.set(id, Date.parse(String(item.bucketEnd)));
}
