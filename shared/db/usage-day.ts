/**
 * Usage by day (UTC): per app, the uses and the users with a use that day, in APP_SHARDS
 * partitions (a hot app's uses spread over them, as its counters do); per user of an app, the
 * uses. Written beside the use itself, in introspection's one write round trip; kept
 * USAGE_DAYS (and a day) by TTL. Keys hold ids only: no personal data.
 */
import { isClientUser, type Token } from '../model.js';
import { DAY_MS, dayOf } from '../time.js';
import { randomShard } from './app.js';
import { conditionalUpdate, itemOf, queryPage, type Key, type Update } from './requests.js';
import { APP_SHARDS, entityAttribute, keyPart, orgPrefix, table } from './table.js';
import { retrying, RETRY } from '../retry.js';
import { commitOrFailures, putWrite, updateWrite } from './unit-of-work.js';

/** How many days of usage are kept (today included). */
export const USAGE_DAYS = 90;

export const usageDayKeys = {
  app: (orgId: string, appId: string, shard: number, date: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#USAGE#${shard}`, sk: `DAY#${date}` }),
  user: (orgId: string, appId: string, userId: string, date: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#USER#${keyPart(userId)}#USAGE`, sk: `DAY#${date}` }),
};

/** A day's items expire once no range can ask for it any more. */
const ttlOf = (date: string) => ({ [table.ttlAttribute]: Math.ceil((Date.parse(date) + (USAGE_DAYS + 1) * DAY_MS) / 1000) });

/** `uses` more uses on a day item (created if missing), and `users` more users. */
const addUse = (key: Key, entity: 'AppUsageDay' | 'UserUsageDay', date: string, uses: 0 | 1, users: 0 | 1): Update => {
  const added = [...(uses ? ['uses :one'] : []), ...(users ? ['activeUsers :one'] : [])];
  return {
    Key: key,
    UpdateExpression: `SET #entity = :entity, #date = :date, #ttl = :ttl ADD ${added.join(', ')}`,
    ExpressionAttributeNames: { '#entity': entityAttribute, '#ttl': table.ttlAttribute, '#date': 'date' },
    ExpressionAttributeValues: { ':entity': entity, ':ttl': ttlOf(date)[table.ttlAttribute], ':date': date, ':one': 1 },
  };
};

/**
 * Counts one use of `token` on its day. Only the use that creates the user's day item counts the
 * user in the app's day, in one transaction with it, so first uses racing count the user once;
 * any other use adds to an existing user's day item only, so it can never take that creation
 * from the first. `maybeFirstOfDay` (the user's last use, as introspection read it, was before
 * the day) says which to try first; the other follows in a second round trip when it was wrong
 * (rare: uses racing at the start of the user's day). A client's own token counts in the app's uses only.
 */
export async function countUse(token: Pick<Token, 'orgId' | 'appId' | 'userId'>, at: string, maybeFirstOfDay: boolean): Promise<void> {
  const { orgId, appId, userId } = token;
  const date = dayOf(at);
  const appDay = () => usageDayKeys.app(orgId, appId, randomShard(), date);
  if (isClientUser(userId)) {
    await conditionalUpdate(addUse(appDay(), 'AppUsageDay', date, 1, 0));
    return;
  }
  const userDay = usageDayKeys.user(orgId, appId, userId, date);
  // The user's day made by this use (true), or found made (false). `uses` says whether the app's
  // day still needs this use counted. A transaction lost to another in progress (no condition
  // failed) is tried again: giving up then could count the user never.
  const makeUserDay = (uses: 0 | 1) => retrying(async () => {
    const failed = await commitOrFailures([
      putWrite(itemOf('UserUsageDay', userDay, { orgId, appId, userId, date, uses: 1 }, ttlOf(date)), { expression: 'attribute_not_exists(pk)' }),
      updateWrite(addUse(appDay(), 'AppUsageDay', date, uses, 1)),
    ]);
    return failed === null ? true : failed.length > 0 ? false : RETRY;
  }, () => new Error('The day\'s usage kept meeting other transactions'));
  const addToUserDay = () => conditionalUpdate({ ...addUse(userDay, 'UserUsageDay', date, 1, 0), ConditionExpression: 'attribute_exists(pk)' });

  if (maybeFirstOfDay && (await makeUserDay(1))) return;
  const [added] = await Promise.all([addToUserDay(), conditionalUpdate(addUse(appDay(), 'AppUsageDay', date, 1, 0))]);
  // Not made yet after all (its last use was read stale): this use makes it, the app's use already counted.
  // Losing that to another first use leaves the item existing, so the add then holds.
  if (!added && !(await makeUserDay(0)) && !(await addToUserDay())) throw new Error('The user\'s day was neither made nor found');
}

/** The app's uses and users by day from `from` to `to` (inclusive): one Query per shard, at once. Days without a use are absent. */
export async function appUsageDays(orgId: string, appId: string, from: string, to: string): Promise<Map<string, { uses: number; activeUsers: number }>> {
  const shards = await Promise.all(Array.from({ length: APP_SHARDS }, (_, shard) => {
    const { pk } = usageDayKeys.app(orgId, appId, shard, from);
    return queryPage({ partition: pk, between: [`DAY#${from}`, `DAY#${to}`], limit: USAGE_DAYS + 1 });
  }));
  const days = new Map<string, { uses: number; activeUsers: number }>();
  for (const item of shards.flatMap((page) => page.items)) {
    const date = String(item.sk).slice('DAY#'.length);
    const day = days.get(date) ?? { uses: 0, activeUsers: 0 };
    days.set(date, { uses: day.uses + Number(item.uses ?? 0), activeUsers: day.activeUsers + Number(item.activeUsers ?? 0) });
  }
  return days;
}

/** The user's uses of the app by day from `from` to `to` (inclusive): one Query. Days without a use are absent. */
export async function userUsageDays(orgId: string, appId: string, userId: string, from: string, to: string): Promise<Map<string, number>> {
  const { pk } = usageDayKeys.user(orgId, appId, userId, from);
  const page = await queryPage({ partition: pk, between: [`DAY#${from}`, `DAY#${to}`], limit: USAGE_DAYS + 1 });
  return new Map(page.items.map((item) => [String(item.sk).slice('DAY#'.length), Number(item.uses ?? 0)]));
}
