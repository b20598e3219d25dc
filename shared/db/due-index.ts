/**
 * The due index (gsi4, KEYS_ONLY, sparse): what the sweep must look at, by the time it is due.
 * Every org's entries are in partitions of its own: its jobs in one, its tokens spread over
 * DUE_TOKEN_PARTITIONS by their lookup key (a hot org's registrations do not all write one index
 * partition), so no org's writes or reads share a partition with another's; the sweep finds the
 * orgs with work due through their due markers (due-markers.ts). A sort key starts with the ISO
 * due time, so "due by now" is one key range, then names what the sweep needs to group the work
 * without reading the item. Ids never contain `#`.
 */
import { batchWrite, queryPage, type Item } from './requests.js';
import { DUE_ORG_SHARDS, markerKeys, orgDuePrefix, type DueBucket } from './due-markers.js';
import { fromKeyPart, keyPart, table } from './table.js';

const { gsi4 } = table.indexes;

export const DUE_TOKEN_PARTITIONS = 8;
export const dueKeys = {
  tokenPartition: (orgId: string, n: number) => `${orgDuePrefix(orgId)}TOKENS#${n}`,
  /** Every token partition of an org. */
  tokenPartitions: (orgId: string) => Array.from({ length: DUE_TOKEN_PARTITIONS }, (_, n) => dueKeys.tokenPartition(orgId, n)),
  token: (dueAt: string, orgId: string, appId: string, userId: string, lookupKey: string) => ({
    // By the hash's first byte (after any `<key version>-`), so tokens spread evenly over the partitions.
    [gsi4.partitionKey]: dueKeys.tokenPartition(orgId, Number.parseInt(lookupKey.slice(lookupKey.indexOf('-') + 1).slice(0, 2), 16) % DUE_TOKEN_PARTITIONS),
    [gsi4.sortKey]: `${dueAt}#${keyPart(orgId)}#${keyPart(appId)}#${keyPart(userId)}`,
  }),
  jobPartition: (orgId: string) => `${orgDuePrefix(orgId)}JOBS`,
  job: (dueAt: string, orgId: string, jobId: string) => ({ [gsi4.partitionKey]: dueKeys.jobPartition(orgId), [gsi4.sortKey]: `${dueAt}#${keyPart(orgId)}#${jobId}` }),
  /** The partitions every org's entries shared before they had their own (`npm run migrate` moves them). */
  legacyPartitions: ['DUE#JOBS', ...Array.from({ length: DUE_TOKEN_PARTITIONS }, (_, n) => `DUE#TOKENS#${n}`)],
  /** The upper bound of a range query for everything due at `at` (U+007F sorts above every id character). */
  dueBy: (at: string) => `${at}#\u007f`,
  /** What a token's entry in the due index names. */
  parseToken: (entry: Item) => {
    const [, orgId = '', appId = '', userId = ''] = String(entry[gsi4.sortKey]).split('#');
    return { orgId: fromKeyPart(orgId), appId: fromKeyPart(appId), userId: fromKeyPart(userId), lookupKey: String(entry.pk).split('#').at(-1) ?? '' };
  },
  /** What a job's entry in the due index names. */
  parseJob: (entry: Item) => {
    const [dueAt = '', orgId = '', jobId = ''] = String(entry[gsi4.sortKey]).split('#');
    return { dueAt, orgId: fromKeyPart(orgId), jobId };
  },
  /** The due time that leads any entry's sort key, a token's or a job's. */
  dueAtOf: (entry: Item) => String(entry[gsi4.sortKey]).split('#')[0] ?? '',
};
/** Attributes whose presence puts an item in the due index. */
export const dueIndexAttributes = [gsi4.partitionKey, gsi4.sortKey] as const;

/** The key of a due-index entry, as a Query's ExclusiveStartKey. */
export const entryKey = (entry: Item): Record<string, string> =>
  Object.fromEntries([table.partitionKey, table.sortKey, gsi4.partitionKey, gsi4.sortKey].map((name) => [name, String(entry[name])]));

/**
 * One page of a partition of the due index: entries due by `dueBy` (a sort-key bound), oldest
 * first, after `cursor`. Reads only due entries: the key range stops at `dueBy`.
 */
export async function queryDue(partition: string, dueBy: string, limit: number, cursor?: Record<string, string> | null): Promise<{ entries: Item[]; more: boolean }> {
  const page = await queryPage({ index: 'gsi4', partition, upTo: dueBy, limit, ...(cursor ? { startKey: cursor } : {}) });
  return { entries: page.items, more: page.lastKey !== undefined };
}

/**
 * The orgs with work due by `dueBy` (a sort-key bound), from their due markers: every page of
 * every marker partition, O(orgs with due work). Each org with the buckets found, oldest first.
 */
export async function orgsWithDueWork(dueBy: string): Promise<Map<string, DueBucket[]>> {
  const orgs = new Map<string, DueBucket[]>();
  const pages = await Promise.all(Array.from({ length: DUE_ORG_SHARDS }, async (_, n) => {
    const entries: Item[] = [];
    let cursor: Record<string, string> | null = null;
    do {
      const page = await queryDue(markerKeys.shard(n), dueBy, 1000, cursor);
      entries.push(...page.entries);
      const last = page.entries.at(-1);
      cursor = page.more && last ? entryKey(last) : null;
    } while (cursor);
    return entries;
  }));
  for (const entry of pages.flat()) {
    const { orgId, bucket } = markerKeys.parse(entry);
    orgs.set(orgId, [...(orgs.get(orgId) ?? []), bucket]);
  }
  for (const buckets of orgs.values()) buckets.sort((a, b) => a.start.localeCompare(b.start));
  return orgs;
}

/** The earliest due time among an org's entries (its jobs' and every token partition's), or null if it has none: one Query of one entry per partition. */
export async function earliestDueOf(orgId: string): Promise<string | null> {
  const firsts = await Promise.all([dueKeys.jobPartition(orgId), ...dueKeys.tokenPartitions(orgId)].map(async (partition) =>
    (await queryPage({ index: 'gsi4', partition, limit: 1 })).items[0]));
  const times = firsts.flatMap((entry) => (entry ? [dueKeys.dueAtOf(entry)] : [])).sort();
  return times[0] ?? null;
}

/** Deletes an org's due markers of these buckets. */
export async function deleteDueMarkers(orgId: string, buckets: DueBucket[]): Promise<void> {
  await batchWrite(buckets.map((bucket) => {
    const { pk, sk } = markerKeys.marker(orgId, bucket);
    return { DeleteRequest: { Key: { pk, sk } } };
  }));
}
