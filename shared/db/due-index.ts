/**
 * The due index (gsi4, KEYS_ONLY, sparse): what the sweep must look at, by the time it is due.
 * Tokens are spread over DUE_TOKEN_PARTITIONS partitions by their lookup key, so registrations
 * do not all write one index partition; jobs (few) share one. A sort key starts with the ISO due
 * time, so "due by now" is one key range, then names what the sweep needs to group the work
 * without reading the item. Ids never contain `#`.
 */
import { queryPage, type Item } from './requests.js';
import { fromKeyPart, keyPart, table } from './table.js';

const { gsi4 } = table.indexes;

export const DUE_TOKEN_PARTITIONS = 8;
export const dueKeys = {
  tokenPartition: (n: number) => `DUE#TOKENS#${n}`,
  token: (dueAt: string, orgId: string, appId: string, userId: string, lookupKey: string) => ({
    // By the hash's first byte (after any `<key version>-`), so tokens spread evenly over the partitions.
    [gsi4.partitionKey]: dueKeys.tokenPartition(Number.parseInt(lookupKey.slice(lookupKey.indexOf('-') + 1).slice(0, 2), 16) % DUE_TOKEN_PARTITIONS),
    [gsi4.sortKey]: `${dueAt}#${keyPart(orgId)}#${keyPart(appId)}#${keyPart(userId)}`,
  }),
  jobPartition: 'DUE#JOBS',
  job: (dueAt: string, orgId: string, jobId: string) => ({ [gsi4.partitionKey]: dueKeys.jobPartition, [gsi4.sortKey]: `${dueAt}#${keyPart(orgId)}#${jobId}` }),
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
