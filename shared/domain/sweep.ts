import { randomUUID } from 'node:crypto';
import pMap from 'p-map';
import { deleteDueMarkers, dueKeys, earliestDueOf, entryKey, orgsWithDueWork, queryDue } from '../db/due-index.js';
import { MARKER_GRACE_MS, type DueBucket } from '../db/due-markers.js';
import { getJob, postponeJob, rescheduleJob, startPass, transitionWrite } from '../db/job.js';
import { getDueCursors, holdTokenChain, releaseTokenChain, saveDueCursor, type DueCursor } from '../db/sweep-state.js';
import { commit } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { config } from '../config.js';
import { isCanonicalTime, iso } from '../time.js';
import { emitMetric } from '../metrics.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { QueueMessage, SweepOrgMessage } from '../queue-messages.js';
import type { RevocationJob } from '../model.js';
import { isExportId } from '../ids.js';
import { checkExportProgress, resumeUnfinishedExport } from './export-stalls.js';
import { releaseWaitingJob, STALL_AFTER_MS, stallCheckAt, startScheduledJob } from './revocations.js';

/**
 * A pass over a due partition hands each due token out once; after this long the next pass
 * starts from the partition's beginning, so that tokens whose messages were lost come round again.
 */
export const SWEEP_PASS_MS = 15 * 60_000;
/** Due-index entries per Query page: an org's round reads at most one page of each of its token partitions. */
const PAGE = 1000;
/** Due jobs an org's round looks at (the rest in the round after it, sent at once). */
const JOBS_PER_ROUND = 50;
/** How long an org whose due tokens fill a round waits for its next token round (a round hands out at most 8,000). */
const TOKEN_ROUND_DELAY_SECONDS = config.sweepTokenRoundDelaySeconds;
/** An org's buckets a round names (the oldest; the others wait for a later sweep). */
const BUCKETS_PER_ROUND = 20;
/** Passes a job may take before it is marked failed (its tokens stay revoked; only the cleanup gave up). */
const MAX_PASSES = 5;
/** Tokens per `due` message. */
const TOKENS_PER_MESSAGE = 100;

export interface SweepReport {
  /** Orgs with work due, each sent one round. */
  orgsDue: number;
}

/** What one org's round did. */
export interface RoundReport {
  jobsStarted: number;
  jobsResumed: number;
  jobsFailed: number;
  /** Started jobs whose cleanup waited for a slot among the app's running jobs, sent on now. */
  jobsReleased: number;
  /** Audit exports that stalled, their step sent again. */
  exportsResumed: number;
  /** Audit exports that stalled too often, ended failed. */
  exportsFailed: number;
  /** Due entries stored in a form the index cannot order (before times were bounded), put right. */
  entriesRepaired: number;
  /** Due tokens handed to the queue (the worker decides each one again before deleting it). */
  tokensDue: number;
  /** Markers of buckets that ended with nothing left due in them. */
  markersDeleted: number;
}

/**
 * The scheduled sweep: finds the orgs with work due (their due markers, O(orgs with due work))
 * and sends each one a round on the sweep queue, where nothing but rounds waits, so every org's
 * round runs soon whatever any other org has due; the rounds do the work (`sweepOrg`). Safe to
 * run concurrently: every step of a round is conditional on what it read.
 */
export async function runSweep(now: number): Promise<SweepReport> {
  const orgs = await orgsWithDueWork(dueKeys.dueBy(iso(now)));
  await enqueue([...orgs].map(([orgId, buckets]): SweepOrgMessage => ({ kind: 'sweep-org', orgId, buckets: buckets.slice(0, BUCKETS_PER_ROUND) })));
  if (orgs.size > 0) logger.info('sweep found orgs with due work', { orgsDue: orgs.size });
  else logger.debug('sweep found nothing due');
  return { orgsDue: orgs.size };
}

/**
 * One org's round: its due jobs (at most JOBS_PER_ROUND: scheduled ones started, stalled ones
 * resumed, waiting ones released) and its due tokens (at most a page of each token partition,
 * handed to the queue in messages of up to 100). When more jobs are due, a round of its jobs
 * alone follows at once (to the back of the sweep queue: other orgs' rounds go first). When more
 * tokens are, one chain of token rounds goes on, one every TOKEN_ROUND_DELAY_SECONDS, holding
 * the org's lease on its tokens (`tokenChain`, taken and renewed conditionally, so one chain holds
 * it at a time; it runs out a minute after a lost round), and the sweep's rounds leave them to it:
 * an org's backlog reaches the work queue at most a round's worth (8,000 tokens) per delay, beside
 * every other org's. Otherwise the markers of buckets that ended with nothing due left in them
 * are deleted.
 */
export async function sweepOrg(message: SweepOrgMessage, now: number): Promise<RoundReport> {
  const { orgId } = message;
  const oldest = { at: now };
  const doJobs = !message.tokensChain;
  const doTokens = !message.jobsCursor;
  const [jobs, tokens] = await Promise.all([
    doJobs ? sweepJobs(orgId, message.jobsCursor ?? null, now, oldest) : undefined,
    doTokens ? sweepTokens(orgId, now, oldest, message.tokensChain) : undefined,
  ]);
  // How long the oldest due entry this round handled had been waiting: the SweepBehind alarm watches it.
  emitMetric('SweepLagSeconds', Math.max(0, Math.round((now - oldest.at) / 1000)), 'Seconds');
  const report = { ...(jobs?.report ?? noJobs()), tokensDue: tokens?.handed ?? 0, markersDeleted: 0 };
  const { buckets } = message;
  if (jobs?.cursor) await enqueue([{ kind: 'sweep-org', orgId, buckets, jobsCursor: jobs.cursor }]);
  if (tokens?.more) {
    // The chain goes on (or starts), if it holds the lease; another chain that took it goes on instead.
    const chain = { id: message.tokensChain ?? randomUUID(), until: iso(now + (TOKEN_ROUND_DELAY_SECONDS + 60) * 1000) };
    if (await holdTokenChain(orgId, chain, message.tokensChain, iso(now))) {
      await enqueue([{ kind: 'sweep-org', orgId, buckets, tokensChain: chain.id }], { delaySeconds: TOKEN_ROUND_DELAY_SECONDS });
    }
  } else if (message.tokensChain) {
    await releaseTokenChain(orgId, message.tokensChain); // the chain ends: the sweep's rounds take the org's tokens again
  }
  if (!jobs?.cursor && !tokens?.more) report.markersDeleted = await deleteEndedMarkers(orgId, buckets, now);
  if (Object.values(report).some((n) => n > 0)) logger.info('sweep round', { orgId, ...report });
  return report;
}

const noJobs = () => ({ jobsStarted: 0, jobsResumed: 0, jobsFailed: 0, jobsReleased: 0, exportsResumed: 0, exportsFailed: 0, entriesRepaired: 0 });

/**
 * Deletes the markers of buckets that ended MARKER_GRACE_MS ago (nothing writes into them any
 * more) and hold nothing due: the org's earliest entry is due after their end.
 */
async function deleteEndedMarkers(orgId: string, buckets: DueBucket[], now: number): Promise<number> {
  const ended = buckets.filter((b) => Date.parse(b.end) + MARKER_GRACE_MS < now);
  if (ended.length === 0) return 0;
  const earliest = await earliestDueOf(orgId);
  const empty = ended.filter((b) => earliest === null || earliest >= b.end);
  await deleteDueMarkers(orgId, empty);
  return empty.length;
}

/** The earliest due time a round came across (from entries it reads anyway). */
interface Oldest { at: number }
const notice = (oldest: Oldest, entries: Record<string, unknown>[]) => {
  const dueAt = entries[0] ? dueKeys.dueAtOf(entries[0]) : '';
  if (isCanonicalTime(dueAt)) oldest.at = Math.min(oldest.at, Date.parse(dueAt));
};

/**
 * The org's due jobs and audit exports (which share the jobs' due partition) of this round,
 * oldest first, from `cursor`; where the next round goes on, if more are due.
 */
async function sweepJobs(orgId: string, cursor: Record<string, string> | null, now: number, oldest: Oldest) {
  const report = noJobs();
  const { entries, more } = await queryDue(dueKeys.jobPartition(orgId), dueKeys.dueBy(iso(now)), JOBS_PER_ROUND, cursor);
  notice(oldest, entries);
  const due = entries.map((entry) => dueKeys.parseJob(entry));
  const exportsDue = due.filter((entry) => isExportId(entry.jobId));
  const jobsDue = due.filter((entry) => !isExportId(entry.jobId));
  // Jobs of one app one after another (releasing a waiting job counts the app's running ones); apps at once.
  const byApp = new Map<string, { job: RevocationJob; dueAt: string }[]>();
  const jobs = await pMap(jobsDue, (entry) => getJob(orgId, entry.jobId), { concurrency: 8 });
  for (const [i, job] of jobs.entries()) {
    if (job) byApp.set(job.appId, [...(byApp.get(job.appId) ?? []), { job, dueAt: (jobsDue[i] as { dueAt: string }).dueAt }]);
  }
  await Promise.all([
    pMap(byApp.values(), async (appJobs) => {
      for (const { job, dueAt } of appJobs) await logger.within({ orgId, jobId: job.jobId }, () => sweepJob(job, dueAt));
    }, { concurrency: 4 }),
    pMap(exportsDue, async ({ jobId: exportId }) => {
      // One export's failure is logged and looked at again next round; the org's other work goes on.
      const outcome = await checkExportProgress(orgId, exportId, now).catch((error: unknown) => logger.error('Could not look at an audit export', { orgId, exportId, error: error as Error }));
      if (outcome) report[outcome] += 1;
    }, { concurrency: 4 }),
  ]);
  const last = entries.at(-1);
  return { report, cursor: more && last ? entryKey(last) : null };

  /** One due job, as just read (every change to it is conditional on what was read). */
  async function sweepJob(job: RevocationJob, dueAt: string): Promise<void> {
    if (!isCanonicalTime(dueAt)) {
      if (await repairJobEntry(job, now)) report.entriesRepaired += 1;
      return;
    }
    if (job.status === 'scheduled') {
      if (job.runAt !== null && Date.parse(job.runAt) <= now && (await startScheduledJob(job, now))) report.jobsStarted += 1;
    } else if (job.status === 'queued' && job.waiting) {
      if (await releaseWaitingJob(job, now)) report.jobsReleased += 1;
    } else if (job.status === 'queued' || job.status === 'running') {
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
 * Resumes every queued or running job at once, each in a new pass, and sends every unfinished
 * audit export's step again: for a local server whose queue did not survive a restart (in AWS the
 * queue keeps its messages and the sweep resumes stalled work). Reads the jobs' due partition of
 * every org with a due marker, where every unfinished job and export has its entry. Returns how many of each.
 */
export async function resumeUnfinishedJobs(now: number): Promise<{ jobs: number; exports: number }> {
  const resumed = { jobs: 0, exports: 0 };
  for (const orgId of (await orgsWithDueWork(dueKeys.dueBy('~'))).keys()) {
    let cursor: Record<string, string> | null = null;
    do {
      const { entries, more } = await queryDue(dueKeys.jobPartition(orgId), dueKeys.dueBy('~'), PAGE, cursor);
      for (const entry of entries) {
        const { jobId } = dueKeys.parseJob(entry);
        if (isExportId(jobId)) {
          if (await resumeUnfinishedExport(orgId, jobId, now)) resumed.exports += 1;
          continue;
        }
        const job = await getJob(orgId, jobId);
        if ((job?.status === 'queued' || job?.status === 'running') && !job.waiting && (await startPass(job, iso(now), stallCheckAt(now)))) {
          await enqueue([{ kind: 'plan', orgId, jobId: job.jobId, pass: job.pass + 1 }]);
          resumed.jobs += 1;
        }
      }
      const last = entries.at(-1);
      cursor = more && last ? entryKey(last) : null;
    } while (cursor);
  }
  return resumed;
}

/**
 * Hands the org's due tokens to the queue, a page of each partition, each once per pass (none
 * while a chain of token rounds holds the org's lease, unless this is that chain). Whether more are due.
 */
async function sweepTokens(orgId: string, now: number, oldest: Oldest, chain: string | undefined): Promise<{ handed: number; more: boolean }> {
  const { cursors, tokenChain } = await getDueCursors(orgId);
  // A round of a chain that lost the lease stops; the sweep's rounds leave the tokens to the chain holding it.
  const held = tokenChain !== undefined && Date.parse(tokenChain.until) > now;
  if (chain !== undefined ? tokenChain?.id !== chain : held) return { handed: 0, more: false };
  const results = await pMap(dueKeys.tokenPartitions(orgId), (partition) => sweepTokenPartition(orgId, partition, cursors[partition], now, oldest), { concurrency: 4 });
  return { handed: results.reduce((sum, r) => sum + r.handed, 0), more: results.some((r) => r.more) };
}

async function sweepTokenPartition(orgId: string, partition: string, seen: DueCursor | undefined, now: number, oldest: Oldest): Promise<{ handed: number; more: boolean }> {
  const current = seen && now - Date.parse(seen.passStartedAt) < SWEEP_PASS_MS ? seen : undefined;
  const { entries, more } = await queryDue(partition, dueKeys.dueBy(iso(now)), PAGE, current?.cursor ?? null);
  notice(oldest, entries);
  const last = entries.at(-1);
  if (!last) return { handed: 0, more: false };
  // Claim the page before handing it out: of two overlapping rounds, only one gets it.
  const next: DueCursor = { cursor: entryKey(last), passStartedAt: current?.passStartedAt ?? iso(now), version: (seen?.version ?? 0) + 1 };
  if (!(await saveDueCursor(orgId, partition, seen, next))) return { handed: 0, more: false };
  await enqueue(dueMessages(entries));
  return { handed: entries.length, more };
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
