import pMap from 'p-map';
import { getAppWithCounters, repairShardCounters, uncount } from '../db/app.js';
import { getUsersOfApp, pageUsersOfApp, setCount, unlinkStaleUser } from '../db/app-user.js';
import { findTokens, tombstoneTokens } from '../db/token.js';
import { commit } from '../db/unit-of-work.js';
import { countsNow, heldTokens, isRevoked } from './rules.js';
import { readLineages } from './lineage.js';
import { isClientUser, type AppUser, type Token } from '../model.js';

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
/** Users checked at once. */
const USER_CONCURRENCY = 16;

const emptyReport = (orgId: string, appId: string, repair: boolean): ReconcileReport =>
  ({ orgId, appId, usersChecked: 0, tokensChecked: 0, userDrift: [], appDrift: null, stragglersDeleted: 0, repaired: repair });

/**
 * Recomputes counters from items and repairs what drifted (`npm run reconcile`): every user of
 * the app, or the ones named (see `checkUsers`); with the whole app checked, the shards' sums are
 * compared with the users' rows and the difference is put on one shard, unless the app moved
 * while reading.
 */
export async function reconcile(orgId: string, appId: string, options: { userIds?: string[]; repair: boolean }): Promise<ReconcileReport | undefined> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app) return undefined;
  const report = emptyReport(orgId, appId, options.repair);
  if (options.userIds) {
    for (let i = 0; i < options.userIds.length; i += 99) await checkUsers(orgId, appId, options.userIds.slice(i, i + 99), { repair: options.repair, report });
    return report;
  }
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await pageUsersOfApp(orgId, appId, 99, startKey);
    await checkUsers(orgId, appId, page.items, { repair: options.repair, report });
    startKey = page.lastKey;
  } while (startKey);
  await reconcileShards(orgId, appId, report, options.repair);
  return report;
}

/**
 * Checks some users of an app (at most 99): each one's token items counted under the current
 * epochs against the user's row; items already revoked are tombstoned. A drift is repaired only
 * if it persists after the index has had time to catch up and the row did not move meanwhile
 * (concurrent registrations are never overwritten); the repair moves a shard by the same amount,
 * as every counted change does. `known` gives users' tokens already read (a job's cleanup step).
 */
export async function checkUsers(orgId: string, appId: string, userIds: string[], options: { repair: boolean; report?: ReconcileReport; known?: Map<string, Token[]> }): Promise<ReconcileReport> {
  const report = options.report ?? emptyReport(orgId, appId, options.repair);
  const { shard, users } = await getUsersOfApp(orgId, appId, userIds);
  if (!shard) return report;
  const epoch = shard.revokeEpoch;
  await pMap(users.values(), async (user) => {
    report.usersChecked++;
    const tokens = options.known?.get(user.userId) ?? await findTokens(orgId, appId, user.userId, () => true);
    const { counted, dead } = await judge(user, epoch, tokens);
    report.tokensChecked += tokens.length;
    if (options.repair && dead.length) {
      await tombstoneTokens(dead, new Date().toISOString());
      report.stragglersDeleted += dead.length;
    }
    const stored = heldTokens(user, epoch);
    // A row still counting under an older app epoch holds nothing now, but only the all-tokens
    // job's cleanup takes it out of the user's apps, for the users whose tokens it finds: the
    // stragglers just tombstoned may have been the last of them.
    const stale = unlinkStaleUser(user, epoch);
    if (options.repair && stale.length) await commit(stale);
    if (stored === counted) return;
    report.userDrift.push([user.userId, stored, counted]);
    if (options.repair) await confirmAndRepair(user, epoch, counted);
  }, { concurrency: USER_CONCURRENCY });
  return report;
}

/**
 * `checkUsers` for one user whose tokens are read in parts (a job step reads at most a fixed
 * number): each part's items already revoked are tombstoned, and after the last the user leaves
 * the user's apps if an app-wide revocation left it nothing. Its count is not checked: tallied
 * over parts while the user registers, it could not tell drift from what moved between parts
 * (`npm run reconcile` recounts such a user whole). How many items were tombstoned.
 */
export async function checkUserPart(orgId: string, appId: string, userId: string, tokens: Token[], last: boolean): Promise<number> {
  const { shard, users } = await getUsersOfApp(orgId, appId, [userId]);
  const user = users.get(userId);
  if (!shard || !user) return 0;
  const { dead } = await judge(user, shard.revokeEpoch, tokens);
  if (dead.length) await tombstoneTokens(dead, new Date().toISOString());
  const stale = last ? unlinkStaleUser(user, shard.revokeEpoch) : [];
  if (stale.length) await commit(stale);
  return dead.length;
}

/** Of a user's token items: how many count now, and which are revoked but still there. */
async function judge(user: AppUser, appEpoch: number, tokens: Token[]): Promise<{ counted: number; dead: Token[] }> {
  const lineageOf = await readLineages(user.orgId, tokens, new Map(tokens.map((t) => [t.lookupKey, t])));
  const dead = tokens.filter((t) => isRevoked(t, appEpoch, user, lineageOf(t)));
  return { counted: tokens.filter((t) => countsNow(t, user, appEpoch, lineageOf(t))).length, dead };
}

async function confirmAndRepair(seen: AppUser, appEpoch: number, counted: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, CONFIRM_AFTER_MS));
  const { users } = await getUsersOfApp(seen.orgId, seen.appId, [seen.userId]);
  const current = users.get(seen.userId);
  if (!current || current.activeTokenCount !== seen.activeTokenCount || current.revokeEpoch !== seen.revokeEpoch || current.countEpoch !== seen.countEpoch) return;
  const tokens = await findTokens(current.orgId, current.appId, current.userId, () => true);
  const again = await judge(current, appEpoch, tokens);
  if (again.counted === counted) await repairUserCount(current, appEpoch, heldTokens(current, appEpoch), counted);
}

/**
 * Sets a user's count to what its items say, only if the row is still as read, and moves a shard
 * by the same amount in the same transaction: every counted change writes a user row and a shard
 * together, so a wrong count is wrong on both.
 */
function repairUserCount(user: AppUser, appEpoch: number, stored: number, count: number): Promise<boolean> {
  const userDelta = isClientUser(user.userId) ? 0 : (count > 0 ? 1 : 0) - (stored > 0 ? 1 : 0);
  return commit([...setCount(user, appEpoch, count), uncount(user.orgId, user.appId, appEpoch, stored - count, -userDelta)]);
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
      users += held > 0 && !isClientUser(row.userId) ? 1 : 0;
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
