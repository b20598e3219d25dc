/**
 * The steps of a revocation job after it took effect: planning (the job's work, in bounded steps,
 * onto the queue), the steps themselves, then the job's success. Every step is idempotent and
 * recorded on the job.
 *
 * - Bulk and user jobs: each step is a batch of the job's users: their tokens read once, the
 *   job's targets tombstoned, each user checked against what is left and repaired if it drifted.
 * - All-tokens jobs: the tokens of the app epoch the revocation ended are listed by the app's
 *   token index (gsi6), which splits into ranges of whole users without reading it; each step
 *   tombstones up to JOB_STEP_TOKENS of one range and deletes their users' links to the app
 *   (the user's-apps list), all in full BatchWriteItem calls. Counts need no repair: the
 *   revocation itself zeroed them (the rows' counts are of the ended epoch) and recorded what it took.
 */
import pMap from 'p-map';
import { deactivateIfIdle, getAppWithCounters, revokedCounts } from '../db/app.js';
import { recordEvent } from '../db/audit-event.js';
import { claimPlanning, getJob, recordBatchDone, recordPlanned, transitionWrite } from '../db/job.js';
import { findTokens, pageAppTokens, tokenRanges, tombstoneTokens, tombstoneTokensAndUnlinkUsers, type TombstoneSource } from '../db/token.js';
import { TOKEN_INDEX_SHARDS } from '../db/table.js';
import { commit } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { JobMessage, QueueMessage } from '../queue-messages.js';
import { iso } from '../time.js';
import { ensureEffect, stallCheckAt } from './revocations.js';
import { auditEvent } from './audit.js';
import { checkUsers } from './reconcile.js';
import type { RevocationJob, Token } from '../model.js';

/** Users of a batch whose tokens are looked up at once (requests in flight per batch). */
const USER_CONCURRENCY = 16;
/** Users per cleanup message of a bulk or user job (JOB_STEP_USERS, 100 unless set). */
export const USERS_PER_BATCH = config.jobStepUsers;
/** Tokens per step of an all-tokens job (JOB_STEP_TOKENS, 1,000 unless set). */
export const TOKENS_PER_STEP = config.jobStepTokens;
/**
 * How long after an all-tokens revocation the app's token index (eventually consistent, usually
 * within a fraction of a second) is trusted to list every token registered before it: the job's
 * last check for what the steps could have missed waits at least this long after the job started.
 */
export const INDEX_SETTLE_MS = 1000;

/** The audit actor of work the queue does. */
const WORKER = 'revocation-worker';

/**
 * Exactly the tokens the job's watermark killed: registered under a lower app epoch (all tokens
 * of the app) or a lower user epoch (bulk and user jobs). Never a token issued after the call.
 */
export function isTargetOf(job: Pick<RevocationJob, 'appEpoch' | 'userEpochs'>, token: Pick<Token, 'appEpoch' | 'userEpoch' | 'userId'>): boolean {
  if (job.appEpoch !== null) return token.appEpoch < job.appEpoch;
  const target = job.userEpochs[token.userId];
  return target !== undefined && token.userEpoch < target;
}

/**
 * Runs one step of a job (`messageId`: the queue message's, which a redelivery keeps). Every step
 * is idempotent: redelivery or duplication changes nothing twice.
 */
export async function handleJobMessage(message: JobMessage, now: number, { messageId }: { messageId: string }): Promise<void> {
  const job = await getJob(message.orgId, message.jobId);
  if (!job || (job.status !== 'queued' && job.status !== 'running')) return; // gone, cancelled or finished
  if (message.pass !== job.pass) return; // the sweep resumed the job in a newer pass
  if (message.kind === 'plan') return plan(job, now, messageId);
  // Done already (a duplicate, or a redelivery after a crash past this point): only the finish may be missing.
  if (job.doneBatches.includes(message.batch)) return finishIfDone(job, now);
  if (message.kind === 'clean') return clean(job, message.batch, message.userIds, now);
  if (!revokesAllTokens(job)) {
    // No code of ours sends one: drop it (retrying cannot help, as for a malformed message) but say so.
    logger.error('Dropping a step for a job that does not revoke all tokens', { jobId: job.jobId, kind: message.kind });
    return;
  }
  return cleanRange(job, message, now);
}

type AllTokensJob = RevocationJob & { appEpoch: number };
const revokesAllTokens = (job: RevocationJob): job is AllTokensJob => job.appEpoch !== null;
const stepOf = (job: RevocationJob) => ({ orgId: job.orgId, jobId: job.jobId, pass: job.pass });

/**
 * Splits the job into steps and enqueues them, then records them on the job. One plan message of
 * a pass plans it (`claimPlanning`): two at once (a retried request sends another) would each
 * send every step, two cleanup chains for one job. The one that claimed it, delivered again after
 * a crash before the record, plans again, and the steps' numbers are the same (a plan message
 * lost after its claim leaves the job to the sweep, which resumes it in a new pass). A bulk job's
 * steps are its users in batches (the job names them: at most 1,000); an all-tokens job's are
 * ranges of the app's token list, sized from what the revocation took.
 */
async function plan(job: RevocationJob, now: number, messageId: string): Promise<void> {
  await ensureEffect(job); // the creating call may have died before raising every user
  if (job.status === 'queued') {
    await commit([transitionWrite(job, 'queued', 'running', { startedAt: iso(now), lastProgressAt: iso(now) }, stallCheckAt(now))]);
    job = { ...job, status: 'running', startedAt: iso(now) };
  }
  if (!job.planComplete && !(await claimPlanning(job, messageId))) return; // another plan message plans this pass
  if (revokesAllTokens(job)) {
    if (!job.planComplete && !(await planTokenRanges(job, now))) return; // a duplicate planner got there first
  } else if (!job.planComplete) {
    const batches = chunk(Object.keys(job.userEpochs).sort(), USERS_PER_BATCH);
    await enqueue(batches.map((userIds, batch) => ({ kind: 'clean', ...stepOf(job), batch, userIds })));
    if (!(await recordPlanned(job, batches.length, null, true, iso(now)))) return;
  }
  // Steps may have finished while planning: decide on the job as stored now.
  const stored = await getJob(job.orgId, job.jobId);
  if (stored) await finishIfDone(stored, now);
}

/**
 * How many steps a range of the app's token list holds on average. Ranges hold whole users, so
 * their sizes vary (by a tenth with 10 tokens a user); with about two steps each, a range's first
 * step reads a full page, so most steps are the same size and run in the same time, and no range
 * is more than a few steps.
 */
const STEPS_PER_RANGE = 2;

/**
 * Plans the ranges of the app's token list that hold the ended epoch's tokens (see
 * `STEPS_PER_RANGE`), and records the job's figures: what the revocation zeroed on the app's
 * counters, exactly. False if a duplicate planner got there first.
 */
async function planTokenRanges(job: AllTokensJob, now: number): Promise<boolean> {
  const app = await getAppWithCounters(job.orgId, job.appId);
  const revoked = app && revokedCounts(app.shards, job.appEpoch);
  const ranges = tokenRanges((revoked?.tokens ?? 0) / (TOKEN_INDEX_SHARDS * STEPS_PER_RANGE * TOKENS_PER_STEP));
  await enqueue(ranges.map((range, batch) => ({ kind: 'clean-range', ...stepOf(job), batch, range, cursor: null })));
  // A later all-tokens revocation overwrote the figures before this job was planned: keep what the job has.
  const progress = revoked ? { usersDone: revoked.users, tokensRevoked: revoked.tokens } : undefined;
  return recordPlanned(job, ranges.length, null, true, iso(now), progress);
}

/**
 * One step of an all-tokens job: up to TOKENS_PER_STEP of the ended epoch's tokens in one range,
 * tombstoned and their users unlinked from the app (see `retire`). The rest of the range is a
 * step of its own; the range is done when its last page is.
 */
async function cleanRange(job: AllTokensJob, message: Extract<QueueMessage, { kind: 'clean-range' }>, now: number): Promise<void> {
  const page = await pageAppTokens(job.orgId, job.appId, job.appEpoch - 1, message.range, TOKENS_PER_STEP, message.cursor ?? undefined);
  await retire(job, page.items, now);
  if (page.lastKey) return enqueue([{ ...message, cursor: page.lastKey as Record<string, string> }]);
  await batchDone(job, message.batch, { users: 0, tokens: 0, drift: 0, stragglers: 0 }, now);
}

/**
 * Tombstones a page of the ended epoch's tokens and takes their users out of the user's-apps
 * lists: their links of that epoch, deleted in the same full BatchWriteItem calls (a link of an
 * ended epoch is never current again, so no condition is needed and a repeat changes nothing).
 * Their rows stay as they are: listed under the ended epoch, they sort after every current row,
 * where the active-user lists stop reading, and count nothing under the app's epoch.
 */
async function retire(job: AllTokensJob, tokens: TombstoneSource[], now: number): Promise<void> {
  await tombstoneTokensAndUnlinkUsers(tokens, iso(now), job.appEpoch - 1);
}

/** Counts a finished step once, then finishes the job if it was the last. */
async function batchDone(job: RevocationJob, batch: number, done: Parameters<typeof recordBatchDone>[2], now: number): Promise<void> {
  const after = await recordBatchDone(job, batch, done, iso(now)) ?? (await getJob(job.orgId, job.jobId)); // a concurrent duplicate counted it first
  if (after) await finishIfDone(after, now);
}

/**
 * One batch of the job's users, bounded work: their tokens read once; the job's targets
 * tombstoned (full BatchWriteItem calls); each user then checked against what is left and
 * repaired if it drifted (see `checkUsers`); the batch counted once. (All-tokens jobs planned
 * before the app's token index existed ran in such batches too; the check unlinks their users.)
 */
async function clean(job: RevocationJob, batch: number, userIds: string[], now: number): Promise<void> {
  const read = await pMap(userIds, async (userId) => [userId, await findTokens(job.orgId, job.appId, userId, () => true)] as const, { concurrency: USER_CONCURRENCY });
  const doomed: Token[] = read.flatMap(([, tokens]) => tokens.filter((t) => isTargetOf(job, t)));
  await tombstoneTokens(doomed, iso(now));
  const left = new Map(read.map(([userId, tokens]) => [userId, tokens.filter((t) => !isTargetOf(job, t))]));
  const report = await checkUsers(job.orgId, job.appId, userIds, { repair: true, known: left });
  if (report.userDrift.length || report.stragglersDeleted) logger.warn('reconciled after revocation batch', { jobId: job.jobId, batch, ...report });
  await batchDone(job, batch, { users: userIds.length, tokens: doomed.length, drift: report.userDrift.length, stragglers: report.stragglersDeleted }, now);
}

/**
 * What the steps of an all-tokens job could have missed: tokens of the ended epoch that the
 * eventually consistent index did not list yet when their range was read. Read again once the
 * index has settled (`INDEX_SETTLE_MS` after the job started), every shard of the epoch, and
 * tombstoned. Only such stragglers are read: the steps took the index entries of the rest away.
 */
async function cleanStragglers(job: AllTokensJob, now: number): Promise<number> {
  const settleMs = Date.parse(job.startedAt ?? iso(now)) + INDEX_SETTLE_MS - Date.now();
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  const counts = await pMap(tokenRanges(1), async (range) => {
    let found = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await pageAppTokens(job.orgId, job.appId, job.appEpoch - 1, range, TOKENS_PER_STEP, startKey);
      await retire(job, page.items, now);
      found += page.items.length;
      startKey = page.lastKey;
    } while (startKey);
    return found;
  });
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Once planning is complete and every step is counted (a bulk job's batches reconciled their own
 * users; an all-tokens job looks for stragglers once more here), marks the job succeeded with
 * `revocation.completed`.
 */
async function finishIfDone(job: RevocationJob, now: number): Promise<void> {
  if (!job.planComplete || job.doneBatches.length < job.plannedBatches) return;
  const stragglers = revokesAllTokens(job) ? await cleanStragglers(job, now) : 0;
  if (stragglers > 0) {
    logger.warn('tombstoned tokens the index listed late', { jobId: job.jobId, stragglers });
    job = { ...job, reconciled: { ...job.reconciled, stragglers: job.reconciled.stragglers + stragglers } };
  }
  const completed = auditEvent({ orgId: job.orgId, sub: WORKER }, 'revocation.completed', {
    appId: job.appId, jobId: job.jobId, ...(job.reason ? { reason: job.reason } : {}),
    details: {
      usersDone: job.progress.usersDone, tokensRevoked: job.progress.tokensRevoked,
      reconciled: { userDrift: job.reconciled.userDrift, stragglersDeleted: job.reconciled.stragglers },
    },
  }, now, 'system');
  const finished = { finishedAt: iso(now), ...(stragglers > 0 ? { reconciledStragglers: job.reconciled.stragglers } : {}) };
  if (await commit([transitionWrite(job, 'running', 'succeeded', finished, null), recordEvent(completed)])) {
    if (job.appEpoch === null) await deactivateIfIdle(job.orgId, job.appId);
    logger.info('revocation job succeeded', { orgId: job.orgId, jobId: job.jobId, ...job.progress });
  }
}
