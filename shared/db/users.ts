import { toAppShard } from './apps.js';
import { toAppUser } from './tokens.js';
import { batchGetConsistent, partitionOf, queryPage, sameKey, type Page } from './items.js';
import { indexKeys, keys, randomShard, type Key } from './keys.js';
import type { AppUser } from '../domain/model.js';

/** A usage row with the revocation epoch its app has now (an app-wide revocation uncounts every row at once). */
export interface UsageRow {
  user: AppUser;
  appEpoch: number;
}

/**
 * The usage rows behind one page of a keys-only index, in the index's order, each with its app's
 * current epoch: one Query and one strongly consistent BatchGetItem of the rows and one shard of
 * each of their apps (at most 100 keys, so callers bound the page).
 */
async function usageRows(orgId: string, page: Page<Record<string, unknown>>): Promise<Page<UsageRow>> {
  const rowKeys: Key[] = page.items.map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
  const appIds = [...new Set(rowKeys.map((k) => k.pk.split('#APP#')[1] as string))];
  const shardKeys = new Map(appIds.map((appId) => [appId, keys.appShard(orgId, appId, randomShard())]));
  const found = rowKeys.length ? await batchGetConsistent([...rowKeys, ...shardKeys.values()]) : [];
  const epochs = new Map(appIds.map((appId) => [appId, toAppShard(found.find(sameKey(shardKeys.get(appId) as Key)))?.revokeEpoch]));
  const rows = rowKeys.flatMap((key) => {
    const user = toAppUser(found.find(sameKey(key)));
    const appEpoch = user && epochs.get(user.appId);
    return user && appEpoch !== undefined ? [{ user, appEpoch }] : [];
  });
  return { items: rows, lastKey: page.lastKey };
}

/** An app's users listed as holding active tokens, by userId or by most recent use: at most 99 a page (with the app's shard, one BatchGetItem). */
export async function listActiveUsers(orgId: string, appId: string, sort: 'userId' | '-lastUsedAt', limit: number, startKey?: Record<string, unknown>): Promise<Page<UsageRow>> {
  const bounded = Math.min(limit, 99);
  const page = sort === 'userId'
    ? await queryPage({ index: 'gsi3', partition: partitionOf('gsi3', indexKeys.activeUsersById(orgId, appId, '')), limit: bounded, startKey })
    : await queryPage({ index: 'gsi4', partition: partitionOf('gsi4', indexKeys.activeUsersByLastUse(orgId, appId)), limit: bounded, startKey, descending: true });
  return usageRows(orgId, page);
}

/** The apps a user is listed as holding active tokens for (their usage rows), by appId: at most 50 a page (with a shard of each app, one BatchGetItem). */
export async function listActiveAppsOfUser(orgId: string, userId: string, limit: number, startKey?: Record<string, unknown>): Promise<Page<UsageRow>> {
  const page = await queryPage({ index: 'gsi5', partition: partitionOf('gsi5', indexKeys.activeAppsOfUser(orgId, userId, '')), limit: Math.min(limit, 50), startKey });
  return usageRows(orgId, page);
}
