/**
 * The steps of a revocation job after it took effect: planning (the job's work, in bounded steps,
 * onto the queue), the steps themselves, then the job's success. Every step is idempotent and
 * recorded on the job.
 *
 * - Bulk and user jobs: each step is a batch of the job's users: about JOB_STEP_TOKENS of their
 *   tokens read, the job's targets tombstoned, each user read whole checked against what is left
 *   and repaired if it drifted; users holding more go on in the batch's next part (`clean`).
 * - All-tokens jobs: the tokens of the app epoch the revocation ended are listed by the app's
 *   token index (gsi6), which splits into ranges of whole users without reading it; each step
 *   tombstones up to JOB_STEP_TOKENS of one range and deletes their users' links to the app
 *   (the user's-apps list), all in full BatchWriteItem calls. Counts need no repair: the
 *   revocation itself zeroed them (the rows' counts are of the ended epoch) and recorded what it took.
 */
import pMap from 'p-map';
import { deactivateIfIdle, getAppWithCounters, revokedCounts } from '../db/app.js';
import { recordEvent } from '../db/audit-event.js';
import { batchPartsOf, claimBatchPart, claimPlanning, getJob, offboardedAppsOf, recordBatchDone, recordBatchPart, recordedPartMessage, recordPlanned, recordProgressAt, transitionWrite, type StepDone } from '../db/job.js';
import { listUserTokens, pageAppTokens, tokenRanges, tombstoneTokens, tombstoneTokensAndUnlinkUsers, type TombstoneSource } from '../db/token.js';
import { TOKEN_INDEX_SHARDS } from '../db/table.js';
import { commit } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { JobMessage, QueueMessage } from '../queue-messages.js';
import { iso } from '../time.js';
import { eraseStep, firstEraseStep } from './erasure.js';
import { APPS_PER_PLAN_STEP, raiseOffboardedApps } from './offboarding.js';
import { ensureEffect, stallCheckAt } from './revocations.js';
import { auditEvent } from './audit.js';
import { checkUserPart, checkUsers } from './reconcile.js';
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

/** Which delivery of a queue message a step is: its id (kept by a redelivery), and whether it was delivered before. */
export interface Delivery { messageId: string; redelivered: boolean }

/** The audit actor of work the queue does. */
const WORKER = 'revocation-worker';

/**
 * Exactly the tokens the job's watermark killed: registered under a lower app epoch (all tokens
 * of the app), a lower user epoch (bulk and user jobs) or a lower org-wide user epoch (an
 * offboarding). Never a token issued after the call.
 */
export function isTargetOf(job: Pick<RevocationJob, 'appEpoch' | 'userEpochs' | 'offboarding'>, token: Pick<Token, 'appEpoch' | 'userEpoch' | 'userId' | 'orgUserEpoch'>): boolean {
  if (job.appEpoch !== null) return token.appEpoch < job.appEpoch;
  // An offboarding's target is the org-wide watermark's, whether or not the app's row was raised.
  if (job.offboarding) return token.userId === job.offboarding.userId && token.orgUserEpoch < job.offboarding.offboardEpoch;
  const target = job.userEpochs[token.userId];
  return target !== undefined && token.userEpoch < target;
}

/**
 * Runs one step of a job (`messageId`: the queue message's, which a redelivery keeps). Every step
 * is idempotent: redelivery or duplication changes nothing twice.
 */
export async function handleJobMessage(message: JobMessage, now: number, delivery: Delivery): Promise<void> {
  const { messageId } = delivery;
  const job = await getJob(message.orgId, message.jobId);
  if (!job || (job.status !== 'queued' && job.status !== 'running')) return; // gone, cancelled or finished
  if (message.pass !== job.pass) return; // the sweep resumed the job in a newer pass
  if (job.waiting) return; // a started job whose cleanup waits for a slot: the sweep's round sends it on
  // A plan message an offboarding's plan step sent on works under the claim of the one that started it.
  if (message.kind === 'plan') return plan(job, now, message.planner ?? messageId, message.from ?? 0);
  // Done already (a duplicate, or a redelivery after a crash past this point): only the finish may be missing.
  if (job.doneBatches.includes(message.batch)) return finishIfDone(job, now);
  if (message.kind === 'erase') return erase(job, message, now, messageId);
  if (message.kind === 'clean') {
    // An offboarding's step cleans one app, as a user's Revoke of it would (its target is still the org-wide watermark's).
    if ((message.appId !== undefined) === (job.offboarding !== undefined)) return clean(message.appId === undefined ? job : { ...job, appId: message.appId }, message, now, delivery);
    logger.error('Dropping a step whose app does not fit its job', { jobId: job.jobId, appId: message.appId });
    return;
  }
  if (!revokesAllTokens(job)) {
    // No code of ours sends one: drop it (retrying cannot help, as for a malformed message) but say so.
    logger.error('Dropping a step for a job that does not revoke all tokens', { jobId: job.jobId, kind: message.kind });
    return;
  }
  return cleanRange(job, message, now, messageId);
}

type AllTokensJob = RevocationJob & { appEpoch: number };
const revokesAllTokens = (job: RevocationJob): job is AllTokensJob => job.appEpoch !== null;
type Offboarding = RevocationJob & { offboarding: NonNullable<RevocationJob['offboarding']> };
const offboards = (job: RevocationJob): job is Offboarding => job.offboarding !== undefined;
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
async function plan(job: RevocationJob, now: number, planner: string, from: number): Promise<void> {
  // The creating call may have died before raising every user (an offboarding's plan steps raise its apps).
  if (!offboards(job)) job = await ensureEffect(job);
  if (job.status === 'queued') {
    await commit([transitionWrite(job, 'queued', 'running', { startedAt: iso(now), lastProgressAt: iso(now) }, stallCheckAt(now))]);
    job = { ...job, status: 'running', startedAt: iso(now) };
  }
  if (!job.planComplete && !(await claimPlanning(job, planner))) return; // another plan message plans this pass
  if (revokesAllTokens(job)) {
    if (!job.planComplete && !(await planTokenRanges(job, now))) return; // a duplicate planner got there first
  } else if (job.erasure && !job.planComplete) {
    // One chain of steps, through the org's apps and then the user's links.
    await enqueue([firstEraseStep(job)]);
    if (!(await recordPlanned(job, 1, null, true, iso(now)))) return;
  } else if (offboards(job) && !job.planComplete) {
    if (!(await planOffboardedApps(job, now, planner, from))) return;
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
 * One plan step of an offboarding, in bounded work: raises up to APPS_PER_PLAN_STEP more of the
 * user's apps when fewer than that are raised and not sent yet, sends the next APPS_PER_PLAN_STEP
 * raised ones on as steps (a step per app, numbered in the order they were raised: a number names
 * one app for good, so a duplicate planner sends the same steps), records them, and leaves the rest
 * to a plan message of its own, under the same claim (`planner`), that names where it goes on
 * (`from`: the steps recorded so far). A plan message whose steps were recorded already (a
 * duplicate, or a redelivery after its record) only sends that next message again, so duplicates
 * meet in one chain: of two plan messages from the same point, one records and goes on. Whether
 * the planning is complete (false too if another planner recorded these steps first).
 */
async function planOffboardedApps(job: Offboarding, now: number, planner: string, from: number): Promise<boolean> {
  const goOn = (next: RevocationJob) => enqueue([{ kind: 'plan', ...stepOf(next), planner, from: next.plannedBatches }]);
  if (job.plannedBatches > from) {
    await goOn(job);
    return false;
  }
  // (A job an older version started has no raise cursor yet: the raise adopts it first.)
  const unsent = typeof job.offboarding.raiseCursor === 'string' ? job.offboarding.raisedApps - job.plannedBatches : 0;
  const current = unsent < APPS_PER_PLAN_STEP ? await raiseOffboardedApps(job, APPS_PER_PLAN_STEP) : job;
  // A newer pass (the sweep resumed the job meanwhile) is its own plan message's to plan; a job cancelled or failed meanwhile plans nothing.
  if (!offboards(current) || current.pass !== job.pass || current.status !== 'running') return false;
  const { userId, raisedApps, appsRaised } = current.offboarding;
  const steps = await offboardedAppsOf(current, current.plannedBatches, APPS_PER_PLAN_STEP);
  const complete = appsRaised && current.plannedBatches + steps.length >= raisedApps;
  // Nothing to send, nothing raised, and more to come would be a chain that never ends (a step item gone): fail the message instead.
  if (steps.length === 0 && !complete && current.offboarding.raiseCursor === job.offboarding.raiseCursor) {
    throw new Error(`Offboarding ${job.jobId} has no step ${current.plannedBatches} to send and raised nothing`);
  }
  await enqueue(steps.map(({ batch, appId }) => ({ kind: 'clean', ...stepOf(current), batch, appId, userIds: [userId] })));
  if (!(await recordPlanned(current, steps.length, null, complete, iso(now), undefined, planner))) return false;
  if (!complete) await goOn({ ...current, plannedBatches: current.plannedBatches + steps.length });
  return complete;
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
async function cleanRange(job: AllTokensJob, message: Extract<QueueMessage, { kind: 'clean-range' }>, now: number, messageId: string): Promise<void> {
  const page = await pageAppTokens(job.orgId, job.appId, job.appEpoch - 1, message.range, TOKENS_PER_STEP, message.cursor ?? undefined);
  await retire(job, page.items, now);
  if (page.lastKey) return enqueue([{ ...message, cursor: page.lastKey as Record<string, string> }]);
  await batchDone(job, message.batch, { users: 0, tokens: 0, drift: 0, stragglers: 0 }, now, messageId);
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
async function batchDone(job: RevocationJob, batch: number, done: StepDone, now: number, messageId: string): Promise<void> {
  // An offboarding's step may have put the last counts of its app right: out of the active list then.
  if (offboards(job)) await deactivateIfIdle(job.orgId, job.appId);
  const after = await recordBatchDone(job, batch, done, iso(now), messageId) ?? (await getJob(job.orgId, job.jobId)); // a concurrent duplicate counted it first
  if (after) await finishIfDone(after, now);
}

/** A step of a personal-data erasure (erasure.ts); the last one counts the job's one batch, with the rows it erased. */
async function erase(job: RevocationJob, message: Extract<QueueMessage, { kind: 'erase' }>, now: number, messageId: string): Promise<void> {
  if (!job.erasure) {
    logger.error('Dropping an erasure step for a job that erases nothing', { jobId: job.jobId });
    return;
  }
  const step = await eraseStep({ ...job, erasure: job.erasure }, message);
  if ('next' in step) {
    await recordProgressAt(job, iso(now)); // a long chain (an org of many apps) is not taken for stalled
    return enqueue([step.next]);
  }
  await batchDone(job, message.batch, { users: step.rowsErased, tokens: 0, drift: 0, stragglers: 0 }, now, messageId);
}

type CleanMessage = Extract<QueueMessage, { kind: 'clean' }>;
type Carried = NonNullable<CleanMessage['cursors']>[string];

/**
 * One batch of the job's users, in bounded work: about TOKENS_PER_STEP of their tokens read
 * (`readUsersTokens`); the job's targets among them tombstoned (full BatchWriteItem calls); each
 * user read whole in one part checked against what is left and repaired if it drifted (see
 * `checkUsers`). Users with more tokens than that go on in the batch's next part, each where this
 * one stopped (`checkUserPart`: their stragglers tombstoned, their counts left to the reconciler).
 * Each part is claimed (`claimBatchPart`) before anything is changed, so a batch runs in one chain
 * whatever the deliveries; it is counted once, by its last part.
 * (All-tokens jobs planned before the app's token index existed ran in such batches too; the check
 * unlinks their users.)
 */
async function clean(job: RevocationJob, message: CleanMessage, now: number, { messageId, redelivered }: Delivery): Promise<void> {
  const { batch } = message;
  const part = message.part ?? 0;
  // A batch runs as the chain of its claimed parts: a part only for the message that claimed it (its
  // first delivery, or a redelivery after it died before recording itself), so a duplicate finds
  // nothing to do and the tokens are counted by the delivery that tombstoned them.
  if (!(await claimBatchPart(job, batch, part, messageId))) return resendNextPart(await getJob(job.orgId, job.jobId) ?? job, message, redelivered);
  const carried = message.cursors ?? {};
  const read = await readUsersTokens(job, message.userIds, carried);
  const goesOn = [...read.values()].some((r) => r.lastKey !== undefined);

  const doomed: Token[] = [...read.values()].flatMap(({ tokens }) => tokens.filter((t) => isTargetOf(job, t)));
  await tombstoneTokens(doomed, iso(now));
  const left = (tokens: Token[]) => tokens.filter((t) => !isTargetOf(job, t));
  // Users read whole in one part are checked as they were read; the others part by part.
  const whole = new Map([...read].filter(([userId, r]) => !r.lastKey && !carried[userId]).map(([userId, r]) => [userId, left(r.tokens)]));
  const report = whole.size ? await checkUsers(job.orgId, job.appId, [...whole.keys()], { repair: true, known: whole }) : undefined;
  if (report && (report.userDrift.length || report.stragglersDeleted)) logger.warn('reconciled after revocation batch', { jobId: job.jobId, batch, ...report });
  const done: StepDone = { users: whole.size, tokens: doomed.length, drift: report?.userDrift.length ?? 0, stragglers: report?.stragglersDeleted ?? 0 };
  const cursors: Record<string, { startKey: Record<string, string> }> = {};
  await pMap([...read].filter(([userId, r]) => r.lastKey || carried[userId]), async ([userId, r]) => {
    const last = r.lastKey === undefined;
    done.stragglers += await checkUserPart(job.orgId, job.appId, userId, left(r.tokens), last);
    if (last) done.users += 1;
    else cursors[userId] = { startKey: r.lastKey as Record<string, string> };
  }, { concurrency: USER_CONCURRENCY });

  if (!goesOn) return batchDone(job, batch, done, now, messageId);
  const next: CleanMessage = { ...stepOf(job), kind: 'clean', batch, part: part + 1, ...(message.appId === undefined ? {} : { appId: message.appId }), userIds: message.userIds.filter((userId) => cursors[userId]), cursors };
  if (await recordBatchPart(job, batch, part, done, iso(now), messageId, next)) await enqueue([next]);
}

/**
 * A part that does not run: another delivery runs it, it is done, or the batch is. A redelivery
 * of a part that recorded itself and died before sending the next sends it again, from what it
 * recorded (a first delivery leaves that to the delivery that recorded it).
 */
async function resendNextPart(job: RevocationJob, message: CleanMessage, redelivered: boolean): Promise<void> {
  const parts = batchPartsOf(job, message.batch);
  if (!redelivered || !parts || parts.runner !== undefined || parts.part !== (message.part ?? 0) + 1) return;
  const next = await recordedPartMessage(job, message.batch, parts.part);
  if (next) await enqueue([next as CleanMessage]);
}

/**
 * The tokens of a batch's users, about TOKENS_PER_STEP of them (at most that plus two per user):
 * every user's first page at once, an equal share of the step each (from where the part before
 * stopped, for a user it left unfinished); then, in order, the users with more, with what is left
 * of the step. Each user's tokens read, and where its reading stopped if it is not whole.
 */
async function readUsersTokens(job: RevocationJob, userIds: string[], carried: Record<string, Carried>) {
  // One more than the share: a page that stops at its limit has a next key whether or not more
  // follow, so a user holding exactly its share is read whole only this way.
  const limit = Math.ceil(TOKENS_PER_STEP / userIds.length) + 1;
  const firstPages = await pMap(userIds, (userId) => listUserTokens(job.orgId, job.appId, userId, limit, carried[userId]?.startKey), { concurrency: USER_CONCURRENCY });
  let budget = TOKENS_PER_STEP - firstPages.reduce((sum, page) => sum + page.items.length, 0);
  const read = new Map<string, { tokens: Token[]; lastKey: Record<string, unknown> | undefined }>();
  for (const [i, userId] of userIds.entries()) {
    const page = firstPages[i];
    if (!page) continue;
    const tokens = [...page.items];
    let lastKey = page.lastKey;
    while (lastKey && budget > 0) {
      const more = await listUserTokens(job.orgId, job.appId, userId, budget, lastKey);
      tokens.push(...more.items);
      budget -= more.items.length;
      lastKey = more.lastKey;
    }
    read.set(userId, { tokens, lastKey });
  }
  return read;
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
  const completed = job.erasure
    ? auditEvent({ orgId: job.orgId, sub: WORKER }, 'user.personal-data.erased', { userId: job.erasure.userId, jobId: job.jobId, details: { requestedBy: job.requestedBy, rowsErased: job.progress.usersDone } }, now, 'system')
    : auditEvent({ orgId: job.orgId, sub: WORKER }, 'revocation.completed', {
    ...(job.offboarding ? { userId: job.offboarding.userId } : { appId: job.appId }), jobId: job.jobId, ...(job.reason ? { reason: job.reason } : {}),
    details: {
      usersDone: job.progress.usersDone, tokensRevoked: job.progress.tokensRevoked,
      reconciled: { userDrift: job.reconciled.userDrift, stragglersDeleted: job.reconciled.stragglers },
    },
  }, now, 'system');
  const finished = { finishedAt: iso(now), ...(stragglers > 0 ? { reconciledStragglers: job.reconciled.stragglers } : {}) };
  if (await commit([transitionWrite(job, 'running', 'succeeded', finished, null), recordEvent(completed)])) {
    if (job.appEpoch === null && !job.offboarding && !job.erasure) await deactivateIfIdle(job.orgId, job.appId);
    logger.info('revocation job succeeded', { orgId: job.orgId, jobId: job.jobId, ...job.progress });
  }
}
