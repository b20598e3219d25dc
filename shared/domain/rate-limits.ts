/**
 * Per-org request budgets (contract section 10): introspection, registration and the admin calls
 * each have their own, so that a runaway resource server cannot stop its authorization server's
 * sign-ins; revocations are never limited.
 *
 * Each container keeps, per org and budget, a token bucket holding a second of the budget and
 * refilled continuously, so that no container alone admits more than the budget. About once a
 * second it adds what it admitted to the org's window item of that second and reads back what
 * every container added (one UpdateItem, sent beside the request's own work: a Lambda container
 * is frozen between requests, so nothing may run after the answer), and estimates the org's rate
 * over the last second from this window and the one before. Over the budget, it refuses until
 * the excess would have drained. So an org can get at most about containers × budget × one
 * second over its budget before its containers notice; a container that cannot reach the table
 * keeps deciding alone (the limiter fails open: it protects other orgs, it is not a security
 * boundary).
 */
import { config } from '../config.js';
import { admittedIn, getOrgLimits, reportAdmitted, type Budget, type OrgLimits } from '../db/rate-window.js';
import { logger } from '../logger.js';
import { emitMetric } from '../metrics.js';

export type { Budget };

const SYNC_INTERVAL_MS = 1000;
/** How often a container reads the org's overrides of the default budgets. */
const LIMITS_READ_INTERVAL_MS = 60_000;
/** The longest a container refuses an org on what the window said (a later report may end it sooner). */
const MAX_BLOCK_MS = 10_000;
/** Orgs a container keeps state for (least recently used first out). */
const MAX_ORGS = 10_000;

export const defaultBudgets = (): Record<Budget, number> => ({ introspect: config.orgIntrospectRps, register: config.orgRegisterRps, admin: config.orgAdminRps });

interface Bucket {
  limit: number;
  tokens: number;
  refilledAt: number;
  /** Admitted here since the last report. */
  unreported: number;
  reportedAt: number;
  blockedUntil: number;
  limitsReadAt: number;
  overrides: OrgLimits;
  reporting: boolean;
  /** Refused here since the last report (reported as a metric and a log line, not one per request). */
  refused: number;
}

/** What the limiter decided for one request, and the report to wait for before answering (never rejects). */
export interface Admission {
  admitted: boolean;
  budget: Budget;
  limit: number;
  /** Requests left in the current second, as this container knows. */
  remaining: number;
  /** Seconds until a refused request may be tried again (at least 1). */
  retryAfterSeconds: number;
  settled: Promise<void>;
}

const buckets = new Map<string, Bucket>();
const SETTLED = Promise.resolve();

export function admit(orgId: string, budget: Budget, now: number): Admission {
  const key = `${budget}\n${orgId}`;
  const bucket = buckets.get(key) ?? newBucket(budget, now);
  buckets.delete(key);
  buckets.set(key, bucket);
  if (buckets.size > MAX_ORGS) buckets.delete(buckets.keys().next().value as string);

  bucket.tokens = Math.min(bucket.limit, bucket.tokens + (Math.max(0, now - bucket.refilledAt) / 1000) * bucket.limit);
  bucket.refilledAt = Math.max(bucket.refilledAt, now);
  const admitted = now >= bucket.blockedUntil && bucket.tokens >= 1;
  if (admitted) {
    bucket.tokens -= 1;
    bucket.unreported += 1;
  } else {
    bucket.refused += 1;
  }
  const settled = now - bucket.reportedAt >= SYNC_INTERVAL_MS && !bucket.reporting ? report(orgId, budget, bucket, now) : SETTLED;
  const waitMs = now < bucket.blockedUntil ? bucket.blockedUntil - now : ((1 - bucket.tokens) / bucket.limit) * 1000;
  return { admitted, budget, limit: bucket.limit, remaining: Math.floor(bucket.tokens), retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), settled };
}

function newBucket(budget: Budget, now: number): Bucket {
  const limit = defaultBudgets()[budget];
  return { limit, tokens: limit, refilledAt: now, unreported: 0, reportedAt: 0, blockedUntil: 0, limitsReadAt: 0, overrides: {}, reporting: false, refused: 0 };
}

/** Reports what this container admitted, and learns the org's rate (and, once a minute, its overrides). */
async function report(orgId: string, budget: Budget, bucket: Bucket, now: number): Promise<void> {
  const admitted = bucket.unreported;
  bucket.unreported = 0;
  bucket.reportedAt = now;
  bucket.reporting = true;
  if (bucket.refused > 0) {
    // What an operator sees (docs/operations.md): a metric for the alarm, and who it was in the log.
    emitMetric('RateLimitedRequests', bucket.refused, 'Count');
    logger.warn('Rate limited', { orgId, budget, limit: bucket.limit, refused: bucket.refused });
    bucket.refused = 0;
  }
  const second = Math.floor(now / 1000);
  const readLimits = now - bucket.limitsReadAt >= LIMITS_READ_INTERVAL_MS;
  try {
    const [current, previous, overrides] = await Promise.all([
      reportAdmitted(orgId, budget, second, admitted),
      admittedIn(orgId, budget, second - 1),
      readLimits ? getOrgLimits(orgId) : bucket.overrides,
    ]);
    if (readLimits) {
      bucket.overrides = overrides;
      bucket.limitsReadAt = now;
      bucket.limit = overrides[budget] ?? defaultBudgets()[budget];
      bucket.tokens = Math.min(bucket.tokens, bucket.limit);
    }
    // The last second's rate: this second's window so far, and the part of the last one not yet behind us.
    const elapsed = (now % 1000) / 1000;
    const rate = current + previous * (1 - elapsed);
    if (rate > bucket.limit) bucket.blockedUntil = Math.max(bucket.blockedUntil, now + Math.min(MAX_BLOCK_MS, ((rate - bucket.limit) / bucket.limit) * 1000));
  } catch (error) {
    bucket.unreported += admitted; // reported with the next one
    logger.warn('Could not report to the org\'s request window; deciding alone until the next report', { orgId, budget, error: error as Error });
  } finally {
    bucket.reporting = false;
  }
}
