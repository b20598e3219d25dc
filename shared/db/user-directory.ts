/**
 * The user directory: one small item per user of the org who ever held a token in one of its apps
 * (`ORG#<org>#USER#<userId>` / `DIRECTORY`, beside the org-user item): the apps they were linked to
 * and the name they were last registered with, listed org-wide by id (gsi1) and by name (gsi2).
 * GET /v1/users reads it, so a page holds each user once, with every app they may hold tokens in
 * (their rows then say which they do). Written with the user's links (a first token in an app, a
 * new name: shared/db/app-user.ts), never by a use, so it costs introspection nothing.
 */
import * as v from 'valibot';
import { chunk } from '../chunk.js';
import { recordReader } from './checked.js';
import { batchGetConsistent, conditionalUpdate, queryPage, removeClause, sameKey, setClause, type Item, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix, table } from './table.js';
import { updateWrite, type Write } from './unit-of-work.js';

const { gsi1, gsi2 } = table.indexes;

/**
 * What the search keys hold of an id and of a name, lowercased: no more than a key can (1,024
 * bytes, with the epoch and the exact id beside it), so a longer query is cut to this for the
 * Query and matched in full on what it returns (`matchesPrefix`).
 */
const SEARCH_ID_CHARS = 200;
const SEARCH_NAME_CHARS = 100;
export const idSearchKey = (text: string) => keyPart(text.toLowerCase().slice(0, SEARCH_ID_CHARS));
export const nameSearchKey = (text: string) => [...text.toLowerCase()].slice(0, SEARCH_NAME_CHARS).join('');
/** A search's match, case-insensitive and in full (the keys hold a bounded part). */
export const matchesPrefix = (text: string | null, q: string) => text !== null && text.toLowerCase().startsWith(q.toLowerCase());

const directoryKeys = {
  entry: (orgId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#USER#${keyPart(userId)}`, sk: 'DIRECTORY' }),
  byId: (orgId: string, userId: string) => ({ [gsi1.partitionKey]: `${orgPrefix(orgId)}#USERS`, [gsi1.sortKey]: `${idSearchKey(userId)}#${keyPart(userId)}` }),
  byName: (orgId: string, userName: string, userId: string) => ({ [gsi2.partitionKey]: `${orgPrefix(orgId)}#USER-NAMES`, [gsi2.sortKey]: `${nameSearchKey(userName)}#${keyPart(userId)}` }),
};
const nameAttributes = ['userName', gsi2.partitionKey, gsi2.sortKey] as const;

export interface DirectoryEntry { userId: string; userName: string | null; appIds: string[] }
const toEntry = /* @__PURE__ */ recordReader('UserDirectory', () => ({ userId: v.string() }), (e): DirectoryEntry => ({
  userId: e.userId as string, userName: typeof e.userName === 'string' ? e.userName : null, appIds: [...((e.apps as Set<string> | undefined) ?? [])].sort(),
}));

/**
 * The user linked to an app, and known by `userName` when a registration brings one (the latest
 * wins). `unlessNamed`: a name only if the entry has none yet (a backfill, from a row's name).
 */
export function directoryWrite(orgId: string, userId: string, appId: string, userName: string | null, { unlessNamed = false } = {}): Write {
  const set = setClause({ entity: 'UserDirectory', orgId, userId, ...directoryKeys.byId(orgId, userId) }, 'd');
  const named = userName ? setClause({ userName, ...directoryKeys.byName(orgId, userName, userId) }, 'n') : undefined;
  const namedParts = named ? (unlessNamed ? named.parts.map((part) => part.replace(/^(#\w+) = (:\w+)$/, '$1 = if_not_exists($1, $2)')) : named.parts) : [];
  return updateWrite({
    Key: directoryKeys.entry(orgId, userId),
    UpdateExpression: `ADD apps :apps SET ${[...set.parts, ...namedParts].join(', ')}`,
    ExpressionAttributeNames: { ...set.names, ...named?.names },
    ExpressionAttributeValues: { ...set.values, ...named?.values, ':apps': new Set([appId]) },
  });
}

/**
 * One page of the org's users by id (`byName: false`) or by name, from a case-insensitive prefix
 * `q` (matched in full: a `q` longer than the keys hold reads more). Eventually consistent, as every
 * index: the rows read with them decide what is shown.
 */
export async function pageDirectory(orgId: string, { byName, q, limit, startKey }: { byName: boolean; q: string | undefined; limit: number; startKey?: Item }): Promise<ListedPage<DirectoryEntry>> {
  const partition = byName ? directoryKeys.byName(orgId, '', '')[gsi2.partitionKey] : directoryKeys.byId(orgId, '')[gsi1.partitionKey];
  const page = await queryPage({ index: byName ? 'gsi2' : 'gsi1', partition: partition, ...(q ? { prefix: byName ? nameSearchKey(q) : idSearchKey(q) } : {}), limit, startKey });
  const found = page.items.flatMap((item, i) => {
    const entry = toEntry(item);
    return entry && (!q || matchesPrefix(byName ? entry.userName : entry.userId, q)) ? [{ entry, resumeKey: page.resumeKeys[i] as Item }] : [];
  });
  return { items: found.map((f) => f.entry), lastKey: page.lastKey, resumeKeys: found.map((f) => f.resumeKey) };
}

/** The directory entries of some users, strongly consistent (absent: never linked to an app). */
export async function getDirectoryEntries(orgId: string, userIds: string[]): Promise<Map<string, DirectoryEntry>> {
  const keys = userIds.map((userId) => directoryKeys.entry(orgId, userId));
  const found = (await Promise.all(chunk(keys, 100).map((part) => batchGetConsistent(part)))).flat();
  return new Map(userIds.flatMap((userId, i) => {
    const entry = toEntry(found.find(sameKey(keys[i] as Key)));
    return entry ? [[userId, entry] as const] : [];
  }));
}

/** Personal-data erasure: the user's name and the search key made of it. */
export async function eraseNameInDirectory(orgId: string, userId: string): Promise<void> {
  const unnamed = removeClause(nameAttributes, 'n');
  await conditionalUpdate({
    Key: directoryKeys.entry(orgId, userId), UpdateExpression: `REMOVE ${unnamed.parts.join(', ')}`, ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: unnamed.names,
  });
}
