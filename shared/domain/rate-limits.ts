/**
 * Per-org request budgets (contract section 10): introspection, registration and the admin calls
 * each have their own, so that a runaway resource server cannot stop its authorization server's
 * sign-ins; revocations are never limited.
 *
 * Each container keeps, per org and budget, a token bucket that refills at this container's share
 * of the budget and holds at most a second of it, so that no container alone admits more than the
 * budget. About once a second it adds what it admitted to the org's window item of that second and
 * reads back what every container added (an UpdateItem and a GetItem of the second before, sent
 * beside the request's own work: a Lambda container is frozen between requests, so nothing may run
 * after the answer). Every container that serves the org reports about once a second, so a
 * finished second's window is the org's rate; the current one, so far, catches a surge early. Its
 * share then moves by the square root of budget ÷ rate (down when the org is over, up when it is
 * under), so the containers' shares settle at the budget within a few seconds. An org can get at most about containers × budget × one
 * second over its budget before its containers notice (every function's containers that spend the
 * budget). A container that cannot reach the table keeps deciding alone (the limiter fails open:
 * it protects other orgs, it is no security boundary).
 */
import { config } from '../config.js';
import { admittedIn, getOrgLimits, reportAdmitted, type Budget, type OrgLimits } from '../db/rate-window.js';
import { logger } from '../logger.js';
import { emitMetric } from '../metrics.js';

export type { Budget };

const SYNC_INTERVAL_MS = 1000;
/** How often a container reads the org's overrides of the default budgets. */
const LIMITS_READ_INTERVAL_MS = 60_000;
/** Buckets (org × budget) a container keeps (least recently used first out): 10,000 orgs. */
const MAX_BUCKETS = 30_000;

export const defaultBudgets = (): Record<Budget, number> => config.orgBudgets;

interface Bucket {
  limit: number;
  /** This container's share of the budget: what the bucket refills at, a second, and the most it holds. */
  share: number;
  tokens: number;
  refilledAt: number;
  /** Admitted here since the last report. */
  unreported: number;
  reportedAt: number;
  limitsReadAt: number;
  overrides: OrgLimits;
  reporting: boolean;
  /** Refused here since the last report (reported as a metric and a log line, not one per request). */
  refused: number;
}

/** What the limiter decided for one request, and the report to wait for before answering (never rejects). */
export interface Admission {
  admitted: boolean;
  limit: number;
  /** Requests left, as this container knows (0 when refused). */
  remaining: number;
  /** Seconds until a refused request may be tried again (at least 1). */
  retryAfterSeconds: number;
  settled: Promise<void>;
}

const buckets = new Map<string, Bucket>();
const SETTLED = Promise.resolve();

export function admit(orgId: string, budget: Budget, now: number): Admission {
  const key = `${budget}\n${orgId}`;
  const bucket = buckets.get(key) ?? newBucket(budget);
  buckets.delete(key);
  buckets.set(key, bucket);
  if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);

  // A clock that went back counts as no time at all.
  bucket.tokens = Math.min(bucket.share, bucket.tokens + (Math.max(0, now - bucket.refilledAt) / 1000) * bucket.share);
  bucket.refilledAt = now;
  const admitted = bucket.tokens >= 1;
  if (admitted) {
    bucket.tokens -= 1;
    bucket.unreported += 1;
  } else {
    bucket.refused += 1;
  }
  const settled = now - bucket.reportedAt >= SYNC_INTERVAL_MS && !bucket.reporting ? report(orgId, budget, bucket, now) : SETTLED;
  const waitMs = ((1 - bucket.tokens) / bucket.share) * 1000;
  return {
    admitted, limit: bucket.limit, remaining: admitted ? Math.floor(bucket.tokens) : 0,
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), settled,
  };
}

function newBucket(budget: Budget): Bucket {
  const limit = defaultBudgets()[budget];
  return { limit, share: limit, tokens: limit, refilledAt: 0, unreported: 0, reportedAt: 0, limitsReadAt: 0, overrides: {}, reporting: false, refused: 0 };
}

/** Reports what this container admitted, and learns the org's rate (and, once a minute, its overrides). */
async function report(orgId: string, budget: Budget, bucket: Bucket, now: number): Promise<void> {
  const admitted = bucket.unreported;
  const refused = bucket.refused;
  Object.assign(bucket, { unreported: 0, refused: 0, reportedAt: now, reporting: true });
  const second = Math.floor(now / 1000);
  const readLimits = now - bucket.limitsReadAt >= LIMITS_READ_INTERVAL_MS;
  const [current, previous, overrides] = await Promise.allSettled([
    reportAdmitted(orgId, budget, second, admitted),
    admittedIn(orgId, budget, second - 1),
    readLimits ? getOrgLimits(orgId) : Promise.resolve(bucket.overrides),
  ]);
  try {
    if (refused > 0) {
      // What an operator sees (docs/operations.md): a metric for the alarm, and who it was in the log.
      emitMetric('RateLimitedRequests', refused, 'Count');
      logger.warn('Rate limited', { orgId, budget, limit: bucket.limit, refused });
    }
    if (readLimits && overrides.status === 'fulfilled') {
      Object.assign(bucket, { overrides: overrides.value, limitsReadAt: now, limit: overrides.value[budget] ?? defaultBudgets()[budget] });
    }
    if (current.status === 'rejected') {
      // Reported with the next one; at most a second's worth, so that an outage does not come back as one surge.
      bucket.unreported += Math.min(admitted, bucket.limit);
      throw current.reason;
    }
    if (previous.status === 'rejected') throw previous.reason;
    // The last finished second's window is the org's rate of a second before (every container reports once a second,
    // each what it admitted since), this one's so far may show a surge sooner. The share moves by the square root of
    // budget ÷ rate: a correction damped for what it sees a second late, which otherwise swings (bench/README.md).
    const rate = Math.max(current.value, previous.value);
    bucket.share = Math.min(bucket.limit, Math.max(1, rate > 0 ? bucket.share * Math.sqrt(bucket.limit / rate) : bucket.limit));
    bucket.tokens = Math.min(bucket.tokens, bucket.share);
  } catch (error) {
    logger.warn('Could not report to the org\'s request window; deciding alone until the next report', { orgId, budget, error: error as Error });
  } finally {
    bucket.reporting = false;
  }
}
