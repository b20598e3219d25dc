import { requestBudgetDefaults, requestBudgets, type RequestBudget } from './registries.js';

/**
 * Runtime configuration, read once when a container starts. A missing value throws at import
 * time, so a misconfigured function fails its first cold start loudly instead of misbehaving.
 */
export function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

/** Present only when running against local emulators; unset in AWS. */
export function optional(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export const config = Object.freeze({
  region: required('AWS_REGION'),
  tableName: required('TABLE_NAME'),
  dynamodbEndpoint: optional('DYNAMODB_ENDPOINT'),
  /**
   * The queue (work for the queue worker). Only functions that send to it have it (the stack sets it
   * where it grants sending), so it is required when first used rather than at start.
   */
  get queueUrl(): string {
    return required('QUEUE_URL');
  },
  /** The sweep's queue of org rounds (the sweep and the worker send to it); required when first used, as the queue is. */
  get sweepQueueUrl(): string {
    return required('SWEEP_QUEUE_URL');
  },
  sqsEndpoint: optional('SQS_ENDPOINT'),
  /** The bucket of audit exports (the worker writes them, GET /v1/audit-exports/{id} signs their downloads); required when first used. */
  get exportBucket(): string {
    return required('EXPORT_BUCKET');
  },
  /** Present only when running against a local S3 (the SQS emulator speaks it too); unset in AWS. */
  s3Endpoint: optional('S3_ENDPOINT'),
  /**
   * The local server's origin (EXPORT_DOWNLOADS_URL): set, a download link is a URL of that server
   * carrying its own signature, which it serves from the local S3; unset (AWS), an S3 presigned URL.
   */
  exportDownloadsUrl: optional('EXPORT_DOWNLOADS_URL'),
  /**
   * Pages of the audit log (100 events each) one step of an export reads at most
   * (EXPORT_STEP_PAGES, 1–1000; 250 unless set): bounds a step's time whatever the filters skip.
   */
  exportStepPages: positiveInteger('EXPORT_STEP_PAGES', optional('EXPORT_STEP_PAGES') ?? '250', 1000),
  /**
   * Whether trusted issuers may be plain http on a loopback host (ALLOW_LOOPBACK_ISSUERS=true):
   * the local server and tests, whose issuers run on this machine. Never set in AWS.
   */
  allowLoopbackIssuers: optional('ALLOW_LOOPBACK_ISSUERS') === 'true',
  /**
   * How long a queued or running job may go without progress before the sweep resumes it
   * (JOB_STALL_SECONDS; 600 unless set: the README documents it).
   */
  jobStallSeconds: positiveInteger('JOB_STALL_SECONDS', optional('JOB_STALL_SECONDS') ?? '600'),
  /**
   * Users one step (queue message) of a revocation job works on, and apps one plan step of an
   * offboarding raises (JOB_STEP_USERS, 1–100; 100 unless set): every step's work is bounded by
   * it, whatever the size of the app or the user's number of apps.
   */
  jobStepUsers: positiveInteger('JOB_STEP_USERS', optional('JOB_STEP_USERS') ?? '100', 100),
  /**
   * Tokens one step of an all-tokens revocation job reads and tombstones (JOB_STEP_TOKENS,
   * 1–1000; 1000 unless set: one Query page and 40 full BatchWriteItem calls).
   */
  jobStepTokens: positiveInteger('JOB_STEP_TOKENS', optional('JOB_STEP_TOKENS') ?? '1000', 1000),
  /**
   * How long an org whose due tokens fill a sweep round waits for its next token round
   * (SWEEP_TOKEN_ROUND_DELAY_SECONDS, 0–900; 10 unless set): the pace at which one org's backlog
   * reaches the work queue, a round (at most 8,000 tokens) at a time.
   */
  sweepTokenRoundDelaySeconds: positiveInteger('SWEEP_TOKEN_ROUND_DELAY_SECONDS', optional('SWEEP_TOKEN_ROUND_DELAY_SECONDS') ?? '10', 900, 0),
  /**
   * Each org's default request budgets, per second (contract section 10; the README lists them):
   * introspection (ORG_INTROSPECT_RATE_LIMIT_RPS, 500 unless set), registration and the
   * authorization server's other calls (ORG_REGISTER_RATE_LIMIT_RPS, 100) and the admin calls
   * (ORG_ADMIN_RATE_LIMIT_RPS, 20). Revocations are never limited. An operator overrides them for
   * one org (docs/operations.md).
   */
  orgBudgets: Object.fromEntries(requestBudgets.map((budget) => {
    const { variable, rps } = requestBudgetDefaults[budget];
    return [budget, positiveInteger(variable, optional(variable) ?? String(rps))];
  })) as Record<RequestBudget, number>,
});

function positiveInteger(name: string, value: string, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}
