/**
 * The steps of a revocation job after it took effect: planning (the job's users, in batches, onto
 * the queue) and cleaning (one batch's targeted tokens tombstoned, its users checked and
 * repaired), then the job's success. Every step is idempotent and recorded on the job.
 */
import pMap from 'p-map';
import { deactivateIfIdle } from '../db/app.js';
import { pageUsersOfApp, resetStaleUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { getJob, recordBatchDone, recordPlanned, transitionWrite } from '../db/job.js';
import { findTokens, tombstoneTokens } from '../db/token.js';
import { commit } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { JobMessage } from '../queue-messages.js';
import { iso } from '../time.js';
import { ensureEffect, stallCheckAt } from './revocations.js';
import { auditEvent } from './audit.js';
import { checkUsers } from './reconcile.js';
import type { RevocationJob, Token } from '../model.js';

/** Users of a batch whose tokens are looked up at once (requests in flight per batch). */
const USER_CONCURRENCY = 16;
/** Users per cleanup message (JOB_STEP_USERS, 100 unless set); a SendMessageBatch of 10 such messages is one planning page. */
export const USERS_PER_BATCH = config.jobStepUsers;
/** User rows read per planning page (one Query, one SendMessageBatch). */
const PLAN_PAGE = 10 * USERS_PER_BATCH;
/** Planning pages per invocation before the plan message re-enqueues itself. */
const PLAN_PAGES_PER_MESSAGE = 20;

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

/** Runs one step of a job. Every step is idempotent: redelivery or duplication changes nothing twice. */
export async function handleJobMessage(message: JobMessage, now: number): Promise<void> {
  const job = await getJob(message.orgId, message.jobId);
  if (!job || (job.status !== 'queued' && job.status !== 'running')) return; // gone, cancelled or finished
  if (message.pass !== job.pass) return; // the sweep resumed the job in a newer pass
  if (message.kind === 'plan') await plan(job, now);
  else await clean(job, message.batch, message.userIds, now);
}

/**
 * Splits the job's users into cleanup batches and enqueues them, recording each step on the job
 * so that a crash resumes where it stopped (batch numbers follow from the recorded state).
 */
async function plan(job: RevocationJob, now: number): Promise<void> {
  await ensureEffect(job); // the creating call may have died before raising every user
  if (job.status === 'queued') {
    await commit([transitionWrite(job, 'queued', 'running', { startedAt: iso(now), lastProgressAt: iso(now) }, stallCheckAt(now))]);
    job = { ...job, status: 'running' };
  }
  for (let page = 0; !job.planComplete; page++) {
    if (page === PLAN_PAGES_PER_MESSAGE) return enqueue([{ kind: 'plan', orgId: job.orgId, jobId: job.jobId, pass: job.pass }]);
    const { userIds, cursor } = job.appEpoch !== null
      ? await pageUsersOfApp(job.orgId, job.appId, PLAN_PAGE, job.planCursor ?? undefined).then((p) => ({ userIds: p.items, cursor: p.lastKey ?? null }))
      : { userIds: Object.keys(job.userEpochs).sort(), cursor: null };
    const batches = chunk(userIds, USERS_PER_BATCH);
    await enqueue(batches.map((ids, i) => ({ kind: 'clean', orgId: job.orgId, jobId: job.jobId, pass: job.pass, batch: job.plannedBatches + i, userIds: ids })));
    if (!(await recordPlanned(job, batches.length, cursor, cursor === null, iso(now)))) return; // a duplicate planner got there first
    job = { ...job, plannedBatches: job.plannedBatches + batches.length, planCursor: cursor, planComplete: cursor === null };
  }
  // Batches may have finished while planning: decide on the job as stored now.
  const stored = await getJob(job.orgId, job.jobId);
  if (stored) await finishIfDone(stored, now);
}

/**
 * One batch of the job's users, bounded work: their tokens read once; the job's targets
 * tombstoned (full BatchWriteItem calls); each user then checked against what is left and
 * repaired if it drifted (see `checkUsers`); the batch counted once.
 */
async function clean(job: RevocationJob, batch: number, userIds: string[], now: number): Promise<void> {
  // Done already (a duplicate, or a redelivery after a crash past this point): only the finish may be missing.
  if (job.doneBatches.includes(batch)) return finishIfDone(job, now);
  const read = await pMap(userIds, async (userId) => {
    const tokens = await findTokens(job.orgId, job.appId, userId, () => true);
    if (job.appEpoch !== null) await resetStaleUser(job.orgId, job.appId, userId, job.appEpoch);
    return [userId, tokens] as const;
  }, { concurrency: USER_CONCURRENCY });
  const doomed: Token[] = read.flatMap(([, tokens]) => tokens.filter((t) => isTargetOf(job, t)));
  await tombstoneTokens(doomed, iso(now));
  const left = new Map(read.map(([userId, tokens]) => [userId, tokens.filter((t) => !isTargetOf(job, t))]));
  const report = await checkUsers(job.orgId, job.appId, userIds, { repair: true, known: left });
  if (report.userDrift.length || report.stragglersDeleted) logger.warn('reconciled after revocation batch', { jobId: job.jobId, batch, ...report });
  const after = await recordBatchDone(job, batch, { users: userIds.length, tokens: doomed.length, drift: report.userDrift.length, stragglers: report.stragglersDeleted }, iso(now))
    ?? (await getJob(job.orgId, job.jobId)); // a concurrent duplicate counted it first
  if (after) await finishIfDone(after, now);
}

/**
 * Once planning is complete and every batch is counted (each batch reconciled its own users),
 * marks the job succeeded with `revocation.completed`.
 */
async function finishIfDone(job: RevocationJob, now: number): Promise<void> {
  if (!job.planComplete || job.doneBatches.length < job.plannedBatches) return;
  const completed = auditEvent({ orgId: job.orgId, sub: WORKER }, 'revocation.completed', {
    appId: job.appId, jobId: job.jobId, ...(job.reason ? { reason: job.reason } : {}),
    details: {
      usersDone: job.progress.usersDone, tokensRevoked: job.progress.tokensRevoked,
      reconciled: { userDrift: job.reconciled.userDrift, stragglersDeleted: job.reconciled.stragglers },
    },
  }, now, 'system');
  if (await commit([transitionWrite(job, 'running', 'succeeded', { finishedAt: iso(now) }, null), recordEvent(completed)])) {
    if (job.appEpoch === null) await deactivateIfIdle(job.orgId, job.appId);
    logger.info('revocation job succeeded', { orgId: job.orgId, jobId: job.jobId, ...job.progress });
  }
}
