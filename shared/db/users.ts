import { toAppUser } from './tokens.js';
import { batchGetConsistent, partitionOf, queryPage, sameKey, type Page } from './items.js';
import { indexKeys, type Key } from './keys.js';
import type { AppUser } from '../domain/model.js';

/**
 * The usage rows behind one page of a keys-only index, in the index's order: one Query and one
 * strongly consistent BatchGetItem (a page holds at most 100 keys). Rows that went idle between
 * the two reads are left out.
 */
async function usageRows(page: Page<Record<string, unknown>>): Promise<Page<AppUser>> {
  const rowKeys: Key[] = page.items.map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
  const found = rowKeys.length ? await batchGetConsistent(rowKeys) : [];
  const rows = rowKeys
    .map((key) => toAppUser(found.find(sameKey(key))))
    .filter((u): u is AppUser => u !== undefined && u.activeTokenCount > 0);
  return { items: rows, lastKey: page.lastKey };
}

/** An app's users holding active tokens, by userId or by most recent use. */
export async function listActiveUsers(orgId: string, appId: string, sort: 'userId' | '-lastUsedAt', limit: number, startKey?: Record<string, unknown>): Promise<Page<AppUser>> {
  const page = sort === 'userId'
    ? await queryPage({ index: 'gsi3', partition: partitionOf('gsi3', indexKeys.activeUsersById(orgId, appId, '')), limit, startKey })
    : await queryPage({ index: 'gsi4', partition: partitionOf('gsi4', indexKeys.activeUsersByLastUse(orgId, appId)), limit, startKey, descending: true });
  return usageRows(page);
}

/** The apps a user holds active tokens for (their usage rows), by appId. */
export async function listActiveAppsOfUser(orgId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<AppUser>> {
  const page = await queryPage({ index: 'gsi5', partition: partitionOf('gsi5', indexKeys.activeAppsOfUser(orgId, userId, '')), limit, startKey });
  return usageRows(page);
}
