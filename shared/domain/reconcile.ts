import pMap from 'p-map';
import { getAppWithCounters } from '../db/apps.js';
import { findTokens, getUsersOfApp, pageUsersOfApp, repairShardCounters, repairUserCount } from '../db/revocations.js';
import { tombstoneTokens } from '../db/tokens.js';
import { countsNow, heldTokens, isRevoked } from './rules.js';
import { readParents } from './tokens.js';
import type { AppUser, Token } from './model.js';

export interface ReconcileReport {
  orgId: string;
  appId: string;
  usersChecked: number;
  tokensChecked: number;
  /** Users whose stored count differed from their counted token items: [userId, stored, actual]. */
  userDrift: [string, number, number][];
  /** The app's summed shard counters against its users' rows, when the whole app was checked. */
  appDrift: { userCount: [number, number]; activeTokenCount: [number, number] } | null;
  /** Token items already revoked (by a watermark or with their refresh token), still present, tombstoned now. */
  stragglersDeleted: number;
  repaired: boolean;
}

/** How long a user's drift must persist before it is repaired: longer than the index's lag. */
const CONFIRM_AFTER_MS = 1000;

/**
 * Recomputes counters from items and repairs what drifted. For each user (all of the app's, or
 * the ones named): the token items counted under the current epochs against the user's row; items
 * a watermark already killed are deleted. A drift is repaired only if it persists after the
 * index has had time to catch up and the row did not move meanwhile (concurrent registrations
 * are never overwritten). With the whole app checked, the shards' sums are compared with the
 * users' rows and the difference is put on one shard, unless the app moved while reading.
 */
export async function reconcile(orgId: string, appId: string, options: { userIds?: string[]; repair: boolean }): Promise<ReconcileReport | undefined> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app) return undefined;
  const epoch = app.revokeEpoch;
  const report: ReconcileReport = { orgId, appId, usersChecked: 0, tokensChecked: 0, userDrift: [], appDrift: null, stragglersDeleted: 0, repaired: options.repair };

  const check = async (userIds: string[]) => {
    const { users } = await getUsersOfApp(orgId, appId, userIds);
    await pMap(users.values(), async (user) => {
      report.usersChecked++;
      const { counted, dead } = await tokensOf(user, epoch);
      report.tokensChecked += counted + dead.length;
      if (options.repair && dead.length) {
        await tombstoneTokens(dead, new Date().toISOString());
        report.stragglersDeleted += dead.length;
      }
      const stored = heldTokens(user, epoch);
      if (stored === counted) return;
      report.userDrift.push([user.userId, stored, counted]);
      if (options.repair) await confirmAndRepair(user, epoch, counted);
    }, { concurrency: 16 });
  };

  if (options.userIds) {
    for (let i = 0; i < options.userIds.length; i += 99) await check(options.userIds.slice(i, i + 99));
    return report;
  }
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await pageUsersOfApp(orgId, appId, 99, startKey);
    await check(page.items);
    startKey = page.lastKey;
  } while (startKey);
  await reconcileShards(orgId, appId, report, options.repair);
  return report;
}

async function tokensOf(user: AppUser, appEpoch: number): Promise<{ counted: number; dead: Token[] }> {
  const tokens = await findTokens(user.orgId, user.appId, user.userId, () => true);
  const parents = await readParents(user.orgId, tokens, new Map(tokens.map((t) => [t.lookupKey, t])));
  const parentOf = (t: Token) => (t.refreshTokenId === null ? undefined : parents.get(t.refreshTokenId));
  const dead = tokens.filter((t) => isRevoked(t, appEpoch, user, parentOf(t)));
  return { counted: tokens.filter((t) => countsNow(t, user, appEpoch, parents)).length, dead };
}

async function confirmAndRepair(seen: AppUser, appEpoch: number, counted: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, CONFIRM_AFTER_MS));
  const { users } = await getUsersOfApp(seen.orgId, seen.appId, [seen.userId]);
  const now = users.get(seen.userId);
  if (!now || now.activeTokenCount !== seen.activeTokenCount || now.revokeEpoch !== seen.revokeEpoch || now.countEpoch !== seen.countEpoch) return;
  const again = await tokensOf(now, appEpoch);
  if (again.counted === counted) await repairUserCount(now, appEpoch, counted);
}

async function reconcileShards(orgId: string, appId: string, report: ReconcileReport, repair: boolean): Promise<void> {
  const before = await getAppWithCounters(orgId, appId);
  if (!before) return;
  let tokens = 0;
  let users = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await pageUsersOfApp(orgId, appId, 99, startKey);
    const { users: rows } = await getUsersOfApp(orgId, appId, page.items);
    for (const row of rows.values()) {
      const held = heldTokens(row, before.revokeEpoch);
      tokens += held;
      users += held > 0 ? 1 : 0;
    }
    startKey = page.lastKey;
  } while (startKey);
  report.appDrift = { userCount: [before.userCount, users], activeTokenCount: [before.activeTokenCount, tokens] };
  if (!repair || (before.userCount === users && before.activeTokenCount === tokens)) return;
  // Repair only from a still picture: the shards must read the same after the users were summed.
  const after = await getAppWithCounters(orgId, appId);
  const same = after && after.shards.every((s, i) => s.activeTokenCount === before.shards[i]?.activeTokenCount && s.userCount === before.shards[i]?.userCount);
  if (same) await repairShardCounters(before.shards[0]!, users - before.userCount, tokens - before.activeTokenCount);
}
