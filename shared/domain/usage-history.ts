/**
 * Usage over time (GET /v1/apps/{appId}/usage, …/users/{userId}/usage): uses and users by day,
 * as introspection counts them (db/usage-day.ts), for any range of the last USAGE_DAYS days.
 */
import { appExists } from '../db/app.js';
import { appUsageDays, USAGE_DAYS, userUsageDays } from '../db/usage-day.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { DAY_MS, dayOf, iso } from '../time.js';

/** Days when neither end is given, or only one. */
const DEFAULT_DAYS = 30;

const addDays = (day: string, days: number) => dayOf(iso(Date.parse(day) + days * DAY_MS));

/**
 * The days a query covers, oldest first: `from` and `to` both inclusive (UTC); `from` alone ends
 * today, `to` alone starts DEFAULT_DAYS − 1 days before it, neither is the DEFAULT_DAYS ending
 * today. A range of more than USAGE_DAYS days, one starting before today − (USAGE_DAYS − 1) (its
 * days are no longer kept) or ending after today is a 400 naming the field.
 */
export function usageDays(query: { from?: string; to?: string }, now: number): string[] {
  const today = dayOf(iso(now));
  const earliest = addDays(today, -(USAGE_DAYS - 1));
  const to = query.to ?? today;
  const from = query.from ?? addDays(to, -(DEFAULT_DAYS - 1));
  // The end a caller gave is the one to name; `from` when both or neither were.
  const named = query.from === undefined && query.to !== undefined ? 'query.to' : 'query.from';
  if (to > today) throw ValidationError.field('query.to', `must be today (${today}, UTC) or earlier`);
  if (from > to) throw ValidationError.field('query.from', `must not be after ${to}`);
  if (from < earliest) throw ValidationError.field(named, `usage is kept ${USAGE_DAYS} days: the range must start on ${earliest} or later`);
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** An app's uses and users with a use, day by day, zeros included. */
export async function appUsage(orgId: string, appId: string, query: { from?: string; to?: string }, now: number) {
  const days = usageDays(query, now);
  const [exists, counted] = await Promise.all([appExists(orgId, appId), appUsageDays(orgId, appId, days[0] as string, days.at(-1) as string)]);
  if (!exists) throw new NotFoundError(`App ${appId}`);
  return { days: days.map((date) => ({ date, uses: counted.get(date)?.uses ?? 0, activeUsers: counted.get(date)?.activeUsers ?? 0 })) };
}

/** A user's uses of an app, day by day, zeros included: also once they hold no token (404 only for an unknown app). */
export async function userUsage(orgId: string, appId: string, userId: string, query: { from?: string; to?: string }, now: number) {
  const days = usageDays(query, now);
  const [exists, counted] = await Promise.all([appExists(orgId, appId), userUsageDays(orgId, appId, userId, days[0] as string, days.at(-1) as string)]);
  if (!exists) throw new NotFoundError(`App ${appId}`);
  return { days: days.map((date) => ({ date, uses: counted.get(date) ?? 0 })) };
}
