import pMap from 'p-map';
import { DUE_TOKEN_PARTITIONS, dueKeys, entryKey, queryDue } from '../db/due-index.js';
import { getJob, postponeJob, rescheduleJob, startPass, transitionWrite } from '../db/job.js';
import { getDueCursors, saveDueCursor, type DueCursor } from '../db/sweep-state.js';
import { commit } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { isCanonicalTime, iso } from '../time.js';
import { emitMetric } from '../metrics.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { QueueMessage } from '../queue-messages.js';
import type { RevocationJob } from '../model.js';
import { STALL_AFTER_MS, stallCheckAt, startScheduledJob } from './revocations.js';

/**
 * A pass over a due partition hands each due token out once; after this long the next pass
 * starts from the partition's beginning, so that tokens whose messages were lost come round again.
 */
export const SWEEP_PASS_MS = 15 * 60_000;
/** Due-index entries per Query page, and pages per partition per sweep (the rest waits for the next). */
const PAGE = 1000;
const PAGES_PER_SWEEP = 10;
/** Due jobs acted on per sweep, at most this many of one org (the rest wait for the next sweep), and pages of the jobs' due partition read to find them. */
const JOBS_PER_SWEEP = 500;
const JOBS_PER_ORG = 50;
const JOB_PAGES_PER_SWEEP = 10;
/** Passes a job may take before it is marked failed (its tokens stay revoked; only the cleanup gave up). */
const MAX_PASSES = 5;
/** Tokens per `due` message. */
const TOKENS_PER_MESSAGE = 100;

export interface SweepReport {
  jobsStarted: number;
  jobsResumed: number;
  jobsFailed: number;
  /** Due entries stored in a form the index cannot order (before times were bounded), put right. */
  entriesRepaired: number;
  /** Due tokens handed to the queue (the worker decides each one again before deleting it). */
  tokensDue: number;
}


/**
 * The scheduled sweep. Everything it reads comes from the due index, by due time: scheduled
 * jobs whose `runAt` has come, queued or running jobs whose progress stopped, and tokens that
 * expired, fell out of their app's refresh-token policy, or are revoked refresh tokens whose
 * children are checked once more. Jobs
 * are started or resumed here (a few requests each); tokens are handed to the queue in batches.
 * Safe to run concurrently: every step is conditional on what it read.
 */
export async function runSweep(now: number): Promise<SweepReport> {
  const oldest = { at: now };
  const [jobs, tokensDue] = await Promise.all([sweepJobs(now, oldest), sweepTokens(now, oldest)]);
  // How long the oldest due entry this run handled had been waiting: the SweepBehind alarm watches it.
  emitMetric('SweepLagSeconds', Math.max(0, Math.round((now - oldest.at) / 1000)), 'Seconds');
  const report = { ...jobs, tokensDue };
  if (Object.values(report).some((n) => n > 0)) logger.info('sweep found work', { ...report });
  else logger.debug('sweep found nothing due');
  return report;
}

/**
 * The due jobs of this sweep, fairly: every org whose work is due gets up to JOBS_PER_ORG of its
 * oldest entries looked at, whatever another org has queued, because the partition is read on
 * past an org's surplus (keys only) instead of stopping at it.
 */
/** The earliest due time a run came across (from entries it reads anyway). */
interface Oldest { at: number }
const notice = (oldest: Oldest, entries: Record<string, unknown>[]) => {
  const dueAt = entries[0] ? dueKeys.dueAtOf(entries[0]) : '';
  if (isCanonicalTime(dueAt)) oldest.at = Math.min(oldest.at, Date.parse(dueAt));
};

async function dueJobs(now: number, oldest: Oldest): Promise<Record<string, unknown>[]> {
  const perOrg = new Map<string, number>();
  const picked: Record<string, unknown>[] = [];
  let cursor: Record<string, string> | null = null;
  for (let page = 0; page < JOB_PAGES_PER_SWEEP && picked.length < JOBS_PER_SWEEP; page++) {
    const { entries, more } = await queryDue(dueKeys.jobPartition, dueKeys.dueBy(iso(now)), PAGE, cursor);
    if (page === 0) notice(oldest, entries);
    for (const entry of entries) {
      const { orgId } = dueKeys.parseJob(entry);
      const taken = perOrg.get(orgId) ?? 0;
      if (taken >= JOBS_PER_ORG || picked.length >= JOBS_PER_SWEEP) continue;
      perOrg.set(orgId, taken + 1);
      picked.push(entry);
    }
    const last = entries.at(-1);
    if (!more || !last) break;
    cursor = entryKey(last);
  }
  return picked;
}

async function sweepJobs(now: number, oldest: Oldest): Promise<Omit<SweepReport, 'tokensDue'>> {
  const report = { jobsStarted: 0, jobsResumed: 0, jobsFailed: 0, entriesRepaired: 0 };
  await pMap(await dueJobs(now, oldest), (entry) => {
    const { orgId, jobId, dueAt } = dueKeys.parseJob(entry);
    return logger.within({ orgId, jobId }, () => sweepJob(orgId, jobId, dueAt));
  }, { concurrency: 4 });
  return report;

  async function sweepJob(orgId: string, jobId: string, dueAt: string): Promise<void> {
    const job = await getJob(orgId, jobId);
    if (job && !isCanonicalTime(dueAt)) {
      if (await repairJobEntry(job, now)) report.entriesRepaired += 1;
      return;
    }
    if (job?.status === 'scheduled') {
      if (job.runAt !== null && Date.parse(job.runAt) <= now && (await startScheduledJob(job, now))) report.jobsStarted += 1;
    } else if (job?.status === 'queued' || job?.status === 'running') {
      const outcome = await checkProgress(job, now);
      if (outcome) report[outcome] += 1;
    }
  }
}

/**
 * A job whose due entry was stored before times were bounded (`+010000-…` sorts before every real
 * time): a scheduled job moves to its canonical run time, or fails if it has none (after the year
 * 9999, it could never run); any other job is simply looked at again in its normal course.
 */
async function repairJobEntry(job: RevocationJob, now: number): Promise<boolean> {
  if (job.status !== 'scheduled') return postponeJob(job, job.status === 'queued' || job.status === 'running' ? stallCheckAt(now) : iso(now));
  const runAt = job.runAt === null ? Number.NaN : Date.parse(job.runAt);
  if (Number.isFinite(runAt) && isCanonicalTime(new Date(runAt).toISOString())) {
    return rescheduleJob(job, new Date(runAt).toISOString());
  }
  // The stored runAt has no canonical form: it moves into the error, and the job shows no run time.
  const error = `runAt ${job.runAt} is after the year 9999: the job could never run`;
  const failed = await commit([transitionWrite(job, 'scheduled', 'failed', { finishedAt: iso(now), error, runAt: null }, null)]);
  if (failed) logger.warn('failed a scheduled job that could never run', { orgId: job.orgId, jobId: job.jobId, runAt: job.runAt });
  return failed;
}

/** A queued or running job: postponed while it makes progress, resumed in a new pass when its work was lost. */
async function checkProgress(job: RevocationJob, now: number): Promise<'jobsResumed' | 'jobsFailed' | undefined> {
  const lastProgress = Date.parse(job.lastProgressAt ?? job.createdAt);
  if (lastProgress + STALL_AFTER_MS > now) {
    await postponeJob(job, stallCheckAt(lastProgress));
    return undefined;
  }
  if (job.pass + 1 >= MAX_PASSES) {
    const error = `The cleanup made no progress in ${MAX_PASSES} attempts; the tokens stay revoked, but items and counts may be left behind`;
    const failed = await commit([transitionWrite(job, job.status, 'failed', { finishedAt: iso(now), error }, null)]);
    if (failed) {
      logger.error('revocation job failed', { orgId: job.orgId, jobId: job.jobId, pass: job.pass });
      emitMetric('RevocationJobsFailed', 1, 'Count');
    }
    return failed ? 'jobsFailed' : undefined;
  }
  if (!(await startPass(job, iso(now), stallCheckAt(now)))) return undefined; // another sweep resumed it, or it moved
  logger.warn('resuming a revocation job whose work was lost', { orgId: job.orgId, jobId: job.jobId, pass: job.pass + 1 });
  await enqueue([{ kind: 'plan', orgId: job.orgId, jobId: job.jobId, pass: job.pass + 1 }]);
  return 'jobsResumed';
}

/**
 * Resumes every queued or running job at once, each in a new pass: for a local server whose queue
 * did not survive a restart (in AWS the queue keeps its messages and the sweep resumes stalled
 * jobs). Reads the jobs' due partition, where every unfinished job has its entry. Returns how many.
 */
export async function resumeUnfinishedJobs(now: number): Promise<number> {
  let resumed = 0;
  let cursor: Record<string, string> | null = null;
  for (;;) {
    const { entries, more } = await queryDue(dueKeys.jobPartition, dueKeys.dueBy('~'), PAGE, cursor);
    for (const entry of entries) {
      const { orgId, jobId } = dueKeys.parseJob(entry);
      const job = await getJob(orgId, jobId);
      if ((job?.status === 'queued' || job?.status === 'running') && (await startPass(job, iso(now), stallCheckAt(now)))) {
        await enqueue([{ kind: 'plan', orgId, jobId, pass: job.pass + 1 }]);
        resumed += 1;
      }
    }
    const last = entries.at(-1);
    if (!more || !last) return resumed;
    cursor = entryKey(last);
  }
}

/** Hands the due tokens of every due partition to the queue, each once per pass. */
async function sweepTokens(now: number, oldest: Oldest): Promise<number> {
  const cursors = await getDueCursors();
  const partitions = Array.from({ length: DUE_TOKEN_PARTITIONS }, (_, n) => dueKeys.tokenPartition(n));
  const counts = await pMap(partitions, (partition) => sweepTokenPartition(partition, cursors[partition], now, oldest), { concurrency: 4 });
  return counts.reduce((a, b) => a + b, 0);
}

async function sweepTokenPartition(partition: string, seen: DueCursor | undefined, now: number, oldest: Oldest): Promise<number> {
  const current = seen && now - Date.parse(seen.passStartedAt) < SWEEP_PASS_MS ? seen : undefined;
  const passStartedAt = current?.passStartedAt ?? iso(now);
  let cursor = current?.cursor ?? null;
  let handed = 0;
  for (let page = 0; page < PAGES_PER_SWEEP; page++) {
    const { entries, more } = await queryDue(partition, dueKeys.dueBy(iso(now)), PAGE, cursor);
    if (page === 0) notice(oldest, entries);
    const last = entries.at(-1);
    if (!last) break;
    // Claim the page before handing it out: of two overlapping sweeps, only one gets it.
    const next: DueCursor = { cursor: entryKey(last), passStartedAt, version: (seen?.version ?? 0) + 1 };
    if (!(await saveDueCursor(partition, seen, next))) break;
    seen = next;
    cursor = next.cursor;
    await enqueue(dueMessages(entries));
    handed += entries.length;
    if (!more) break;
  }
  return handed;
}

/** Due entries grouped by app, in messages of up to 100 tokens. */
function dueMessages(entries: Record<string, unknown>[]): QueueMessage[] {
  const byApp = new Map<string, ReturnType<typeof dueKeys.parseToken>[]>();
  for (const entry of entries) {
    const token = dueKeys.parseToken(entry);
    const app = `${token.orgId}\n${token.appId}`;
    const group = byApp.get(app);
    if (group) group.push(token);
    else byApp.set(app, [token]);
  }
  return [...byApp.values()].flatMap((tokens) => chunk(tokens, TOKENS_PER_MESSAGE).map((part) => ({
    kind: 'due' as const,
    orgId: part[0]?.orgId ?? '',
    appId: part[0]?.appId ?? '',
    tokens: part.map(({ userId, lookupKey }) => ({ userId, lookupKey })),
  })));
}
