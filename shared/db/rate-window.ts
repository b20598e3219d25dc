/**
 * The per-org request windows (contract section 10), in the org's own partition (`ORG#<org>#RATE`):
 * - one item per budget and second (`WINDOW#<budget>#<second>`) that every container adds what it
 *   admitted to, about once a second, and reads the sum back from in the same UpdateItem; kept a
 *   minute. One org's containers write its own items only: at most one write per container and
 *   second, far under an item's 1,000 a second for the Lambda concurrency of an account;
 * - the operator's overrides of the default budgets for this org (`ORG#<org>#BUDGETS` / `LIMITS`,
 *   apart), read by a container about once a minute.
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { conditionalUpdateReturning, getItem, itemOf, type Key } from './requests.js';
import { orgPrefix, RATE_PARTITION_SUFFIX } from './table.js';
import { commit, putWrite } from './unit-of-work.js';
import { requestBudgets as budgets, type RequestBudget as Budget } from '../registries.js';

export type { Budget };
export type OrgLimits = Partial<Record<Budget, number>>;

/** How long a second's window is kept after it (DynamoDB's TTL removes it some time later). */
const WINDOW_KEPT_S = 60;

const partition = (orgId: string) => `${orgPrefix(orgId)}${RATE_PARTITION_SUFFIX}`;
export const rateKeys = {
  window: (orgId: string, budget: Budget, second: number): Key => ({ pk: partition(orgId), sk: `WINDOW#${budget}#${second}` }),
  // Apart from the windows, which functions that only read may write: they cannot change an org's budgets.
  limits: (orgId: string): Key => ({ pk: `${orgPrefix(orgId)}#BUDGETS`, sk: 'LIMITS' }),
};

const toWindow = /* @__PURE__ */ recordReader('RateWindow', () => ({ admitted: v.number() }), (r) => r.admitted as number);
const toLimits = /* @__PURE__ */ recordReader('OrgRateLimits', () => ({}), (r): OrgLimits =>
  Object.fromEntries(budgets.filter((b) => typeof r[b] === 'number').map((b) => [b, r[b] as number])));

/** Adds what a container admitted to the org's window of one second; answers the window's sum, every container's reports included. */
export async function reportAdmitted(orgId: string, budget: Budget, second: number, admitted: number): Promise<number> {
  const item = await conditionalUpdateReturning({
    Key: rateKeys.window(orgId, budget, second),
    UpdateExpression: 'SET #entity = :entity, #ttl = :ttl ADD admitted :admitted',
    ExpressionAttributeNames: { '#entity': 'entity', '#ttl': 'ttl' },
    ExpressionAttributeValues: { ':entity': 'RateWindow', ':ttl': second + WINDOW_KEPT_S, ':admitted': admitted },
  });
  return toWindow(item) ?? admitted;
}

/** What the org's window of one second holds (0 when nothing was reported in it). */
export async function admittedIn(orgId: string, budget: Budget, second: number): Promise<number> {
  return toWindow(await getItem(rateKeys.window(orgId, budget, second))) ?? 0;
}

/** The operator's overrides for the org: budgets it names replace the defaults. */
export async function getOrgLimits(orgId: string): Promise<OrgLimits> {
  return toLimits(await getItem(rateKeys.limits(orgId))) ?? {};
}

/** Sets the org's overrides (an operator's call; every container sees them within a minute). */
export async function putOrgLimits(orgId: string, limits: OrgLimits): Promise<void> {
  await commit([putWrite(itemOf('OrgRateLimits', rateKeys.limits(orgId), { orgId, ...limits }))]);
}
