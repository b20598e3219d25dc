import { createHash } from 'node:crypto';
import { deactivateIfIdle, getAppWithCounters, revokeAppWrites, uncount } from '../db/app.js';
import { getUsersOfApp, REVOKE_USER_WRITES, revokeUser, unseenUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { getIdempotencyKey, rememberKeyWrite } from '../db/idempotency-key.js';
import { countCleanupsInProgress, countJobs, createJobWrite, getJob, postponeJob, releaseJob, transitionWrite } from '../db/job.js';
import { commit, type Write } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { ConflictError, IdempotencyKeyReusedError, NotFoundError, TooManyRequestsError, ValidationError } from '../errors.js';
import { config } from '../config.js';
import { newJobId } from '../ids.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import { retrying, RETRY } from '../retry.js';
import type { RevocationRequest } from '../schemas/revocations.js';
import { iso } from '../time.js';
import { auditEvent } from './audit.js';
import { OFFBOARDING_APP_ID, type Actor, type ActorKind, type AppShard, type AppUser, type RevocationJob } from '../model.js';
import { heldTokens } from './rules.js';

/** How far ahead a revocation may be scheduled. */
const MAX_RUN_AT_AHEAD_MS = 366 * 86_400_000;
/** Users per transaction: 100 items less the shard and the job's own items (job, audit, idempotency key), shared by each user's writes. */
const USERS_PER_TRANSACTION = Math.floor(96 / REVOKE_USER_WRITES);

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * What an Idempotency-Key is remembered by: the key, the caller's own on one route (another
 * admin's same key is another request); and the request it came with (another body: 422).
 */
export function idempotencyHashes(actor: Actor, idempotency: { key: string | undefined; route: string }, request: unknown): { keyHash: string | undefined; requestHash: string } {
  return {
    keyHash: idempotency.key === undefined ? undefined : sha256(JSON.stringify([actor.sub, idempotency.route, idempotency.key])),
    requestHash: sha256(JSON.stringify(request)),
  };
}

/** A new job of every app of the org (an offboarding or an erasure), queued at once: stored under no app, its target the user. */
export function newOrgWideJob(actor: Actor, userId: string, reason: string | null, now: number, kind: Pick<RevocationJob, 'offboarding' | 'erasure'>): RevocationJob {
  const at = iso(now);
  return {
    orgId: actor.orgId, jobId: newJobId(now), appId: OFFBOARDING_APP_ID, target: { userId }, status: 'queued',
    runAt: null, createdAt: at, startedAt: null, finishedAt: null, requestedBy: actor.sub, reason,
    progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null,
    appEpoch: null, userEpochs: {}, ...kind,
    plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: at,
  };
}

/** What an Idempotency-Key made, if anything (`load` reads it by the id the key remembers); a key reused with another request: 422. */
export async function madeWithIdempotencyKey<T>(orgId: string, hashes: { keyHash: string | undefined; requestHash: string }, now: number, load: (id: string) => Promise<T | undefined>): Promise<T | undefined> {
  if (!hashes.keyHash) return undefined;
  const used = await getIdempotencyKey(orgId, hashes.keyHash, now);
  if (!used) return undefined;
  if (used.requestHash !== hashes.requestHash) throw new IdempotencyKeyReusedError();
  return load(used.jobId);
}

/** The job an Idempotency-Key made, if any. */
export const jobOfIdempotencyKey = (orgId: string, hashes: { keyHash: string | undefined; requestHash: string }, now: number) =>
  madeWithIdempotencyKey(orgId, hashes, now, (jobId) => getJob(orgId, jobId));

/** A dry run: how many users and tokens the revocation would take, from the live counters; nothing changes. */
export async function previewRevocation(orgId: string, appId: string, target: Pick<RevocationRequest, 'userIds'>) {
  const app = await getAppWithCounters(orgId, appId);
  if (!app) throw new NotFoundError(`App ${appId}`);
  if (!target.userIds) return { usersAffected: app.userCount, tokensAffected: app.activeTokenCount };
  const { users } = await getUsersOfApp(orgId, appId, target.userIds);
  const held = [...users.values()].map((u) => heldTokens(u, app.revokeEpoch)).filter((h) => h > 0);
  return { usersAffected: held.length, tokensAffected: held.reduce((a, b) => a + b, 0) };
}

/**
 * How long a queued or running job may go without progress before the sweep resumes it from its
 * stored state. Longer than a message's retries take to reach the DLQ is not needed: messages of
 * an older pass are ignored, so resuming early only repeats idempotent work.
 */
export const STALL_AFTER_MS = config.jobStallSeconds * 1000;
export const stallCheckAt = (lastProgress: number) => iso(lastProgress + STALL_AFTER_MS);

/** The watermarks a revocation raises: the app's epoch (all tokens) or each targeted user's. */
function targetEpochs(app: { revokeEpoch: number }, users: AppUser[] | undefined): Pick<RevocationJob, 'appEpoch' | 'userEpochs'> {
  return users
    ? { appEpoch: null, userEpochs: Object.fromEntries(users.map((u) => [u.userId, u.revokeEpoch + 1])) }
    : { appEpoch: app.revokeEpoch + 1, userEpochs: {} };
}

/**
 * POST /v1/apps/{appId}/revocations (and a user's Revoke). Unless scheduled (`runAt`), the
 * target's tokens are inactive and uncounted when this returns: the app's or users' epochs are
 * raised in the transaction that creates the job (for more users than one transaction holds, in
 * further transactions before returning). The queue then cleans up. A scheduled job takes effect
 * when the sweep starts it (`startScheduledJob`).
 */
export async function requestRevocation(actor: Actor, appId: string, request: Omit<RevocationRequest, 'dryRun'>, idempotency: { key: string | undefined; route: string }, now: number, actorKind: ActorKind = 'user'): Promise<RevocationJob> {
  return (await startRevocation(actor, appId, request, idempotency, now, { actorKind })) as RevocationJob;
}

/**
 * Blocks the app: every token revoked at once, as by `{ all: true }`, in the transaction that
 * marks the app blocked (so it is both or neither), and `app.blocked` audited with the job. No
 * per-app limit refuses it: with the app's cleanups all in progress, the job's cleanup waits for a
 * slot like a scheduled job's. Null when the app is blocked already (a retry with the same
 * Idempotency-Key answers the job instead).
 */
export function blockAppWithJob(actor: Actor, appId: string, reason: string | undefined, idempotency: { key: string | undefined; route: string }, now: number): Promise<RevocationJob | null> {
  return startRevocation(actor, appId, { all: true, ...(reason === undefined ? {} : { reason }) }, idempotency, now, { actorKind: 'user', block: true });
}

async function startRevocation(
  actor: Actor, appId: string, request: Omit<RevocationRequest, 'dryRun'>, idempotency: { key: string | undefined; route: string }, now: number,
  { actorKind, block = false }: { actorKind: ActorKind; block?: boolean },
): Promise<RevocationJob | null> {
  const { orgId } = actor;
  if (request.runAt !== undefined && Date.parse(request.runAt) <= now) throw ValidationError.field('body.runAt', 'must be in the future');
  if (request.runAt !== undefined && Date.parse(request.runAt) > now + MAX_RUN_AT_AHEAD_MS) throw ValidationError.field('body.runAt', 'must be at most one year ahead');
  const hashes = idempotencyHashes(actor, idempotency, { appId, request });
  const { keyHash, requestHash } = hashes;

  return retrying(async () => {
    const known = await jobOfIdempotencyKey(orgId, hashes, now);
    // A retry answers the same job, and only once its revocation has fully taken effect: the
    // first call may have failed after creating it, with users still to raise and no plan
    // sent (a second plan message of a queued job is harmless).
    if (known) {
      await ensureEffect(known);
      if (known.status === 'queued') await afterEffect(known, { cleanup: !known.waiting });
      return known;
    }
    const app = await getAppWithCounters(orgId, appId);
    if (!app) throw new NotFoundError(`App ${appId}`);
    if (block && app.blocked) return null;
    const waiting = block ? (await cleanupsInProgress(orgId, appId)) >= MAX_UNFINISHED_JOBS_PER_APP : false;
    if (!block) await checkJobLimits(orgId, appId, request.runAt !== undefined);
    const userIds = request.userIds;
    const read = userIds ? await usersToRevoke(orgId, appId, userIds, app.revokeEpoch) : undefined;
    const users = read?.users;
    const scheduled = request.runAt !== undefined;

    const at = iso(now);
    const job: RevocationJob = {
      orgId, jobId: newJobId(now), appId,
      target: userIds ? { userIds } : { all: true },
      status: scheduled ? 'scheduled' : 'queued',
      runAt: request.runAt ?? null, createdAt: at, startedAt: null, finishedAt: null,
      requestedBy: actor.sub, reason: request.reason ?? null,
      progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null,
      ...(scheduled ? { appEpoch: null, userEpochs: {} } : targetEpochs(app, users)),
      plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: scheduled ? null : at,
      ...(waiting ? { waiting } : {}),
    };
    const event = auditEvent(actor, 'revocation.requested', {
      appId, jobId: job.jobId, ...(request.reason ? { reason: request.reason } : {}),
      ...(userIds?.length === 1 ? { userId: userIds[0] } : {}),
      details: { target: job.target, runAt: job.runAt, usersAffected: users ? users.filter((u) => heldTokens(u, app.revokeEpoch) > 0).length : app.userCount },
    }, now, actorKind);
    const blocked = block ? [recordEvent(auditEvent(actor, 'app.blocked', { appId, jobId: job.jobId, ...(request.reason ? { reason: request.reason } : {}), details: {} }, now, actorKind))] : [];
    const creation = [
      createJobWrite(job, request.runAt ?? (waiting ? waitCheckAt(now) : stallCheckAt(now))), recordEvent(event), ...blocked,
      ...(keyHash ? [rememberKeyWrite(orgId, keyHash, job.jobId, requestHash, now)] : []),
    ];
    const created = scheduled ? await commit(creation) : await takeEffect(job, app, read, creation, now, { block });
    if (!created) return RETRY; // something moved (or the idempotency key was just taken): read again
    if (!scheduled) await afterEffect(job, { cleanup: !waiting });
    return job;
  }, () => new ConflictError('The app or its users changed concurrently too often; retry the request'));
}

/**
 * Per-org limits a large customer would not reach but a runaway script would: scheduled jobs of
 * the org, and jobs of one app still queued or running. Both answer 429 with Retry-After.
 */
export const MAX_SCHEDULED_JOBS_PER_ORG = 1000;
export const MAX_UNFINISHED_JOBS_PER_APP = 25;

async function checkJobLimits(orgId: string, appId: string, scheduled: boolean): Promise<void> {
  if (scheduled && (await countJobs(orgId, { status: 'scheduled' }, MAX_SCHEDULED_JOBS_PER_ORG)) >= MAX_SCHEDULED_JOBS_PER_ORG) {
    throw new TooManyRequestsError(`The org has ${MAX_SCHEDULED_JOBS_PER_ORG} scheduled revocations already; cancel one or wait until one runs`, 60);
  }
  const [queued, running] = await Promise.all((['queued', 'running'] as const).map((status) => countJobs(orgId, { appId, status }, MAX_UNFINISHED_JOBS_PER_APP)));
  if ((queued ?? 0) + (running ?? 0) >= MAX_UNFINISHED_JOBS_PER_APP) {
    throw new TooManyRequestsError(`The app has ${MAX_UNFINISHED_JOBS_PER_APP} revocations still running; retry when one has finished`, 5);
  }
}

/**
 * The sweep starts a due scheduled job: its watermarks go up and it becomes queued in one
 * transaction, conditional on it still being scheduled, so a cancelled job never runs and
 * overlapping sweeps start it once. Its targets are inactive from then on, whatever the app's
 * other jobs; only its cleanup waits (`waiting`) while the app has MAX_UNFINISHED_JOBS_PER_APP
 * cleanups in progress, until a later round releases it (`releaseWaitingJob`). False if it was
 * not scheduled any more.
 */
export async function startScheduledJob(job: RevocationJob, now: number): Promise<boolean> {
  return retrying(async () => {
    const app = await getAppWithCounters(job.orgId, job.appId);
    if (!app) return false;
    const [read, busy] = await Promise.all([
      'userIds' in job.target ? usersToRevoke(job.orgId, job.appId, job.target.userIds, app.revokeEpoch) : undefined,
      cleanupsInProgress(job.orgId, job.appId),
    ]);
    const waiting = busy >= MAX_UNFINISHED_JOBS_PER_APP;
    const started: RevocationJob = { ...job, status: 'queued', ...targetEpochs(app, read?.users), lastProgressAt: iso(now), ...(waiting ? { waiting } : {}) };
    const transition = transitionWrite(job, 'scheduled', 'queued', {
      appEpoch: started.appEpoch, userEpochs: started.userEpochs, lastProgressAt: started.lastProgressAt, ...(waiting ? { waiting } : {}),
    }, waiting ? waitCheckAt(now) : stallCheckAt(now));
    if (await takeEffect(started, app, read, [transition], now)) {
      if (waiting) await afterEffect(started, { cleanup: false });
      else await afterEffect(started);
      return true;
    }
    const current = await getJob(job.orgId, job.jobId);
    return current?.status !== 'scheduled' ? false : RETRY; // false: cancelled, or another sweep started it
  }, () => false); // contended: the next sweep tries again
}

/** When a job whose cleanup waits for a slot is looked at again: the next sweep's round. */
const WAIT_CHECK_MS = 60_000;
const waitCheckAt = (now: number) => iso(now + WAIT_CHECK_MS);

const cleanupsInProgress = (orgId: string, appId: string) => countCleanupsInProgress(orgId, appId, MAX_UNFINISHED_JOBS_PER_APP, MAX_SCHEDULED_JOBS_PER_ORG + MAX_UNFINISHED_JOBS_PER_APP);

/**
 * A started job whose cleanup waits for a slot: sent on to the queue once the app has fewer than
 * MAX_UNFINISHED_JOBS_PER_APP cleanups in progress (only if it still waits, so overlapping rounds
 * send it once), else looked at again in the next round. Its targets have been inactive since it
 * started. True if it was released.
 */
export async function releaseWaitingJob(job: RevocationJob, now: number): Promise<boolean> {
  if ((await cleanupsInProgress(job.orgId, job.appId)) >= MAX_UNFINISHED_JOBS_PER_APP) {
    await postponeJob(job, waitCheckAt(now));
    return false;
  }
  if (!(await releaseJob(job, iso(now), stallCheckAt(now)))) return false;
  await afterEffect({ ...job, waiting: false });
  return true;
}

/**
 * The users a revocation names, as read: each one's row, or for a user the app has no row for
 * yet, one to create (tokens learned from a trusted issuer later, but issued before the
 * revocation, are revoked by it: contract section 9).
 */
async function usersToRevoke(orgId: string, appId: string, userIds: string[], appEpoch: number): Promise<{ shard: AppShard | undefined; users: AppUser[] }> {
  const named = [...new Set(userIds)];
  const { shard, users } = await getUsersOfApp(orgId, appId, named);
  return { shard, users: named.map((userId) => users.get(userId) ?? unseenUser(orgId, appId, userId, appEpoch)) };
}

/** Raises the job's watermarks with `creation` (which creates or starts the job); false if anything read has moved. */
function takeEffect(job: RevocationJob, app: { revokeEpoch: number }, read: { shard: AppShard | undefined; users: AppUser[] } | undefined, creation: Write[], now: number, { block = false } = {}): Promise<boolean> {
  if (job.appEpoch !== null) return commit([...creation, ...revokeAppWrites(job.orgId, job.appId, app.revokeEpoch, iso(now), { block })]);
  return revokeUsersAtOnce(job, read?.shard, read?.users ?? [], creation, now);
}

/**
 * Revokes every token of some users at once: each user's epoch goes up to the job's target and
 * their counted tokens are uncounted (rows zeroed and unlisted, one shard decremented), pinned to
 * what was read, together with `also`. False if anything moved.
 */
function revokeUsers(job: RevocationJob, appEpoch: number, users: AppUser[], now: number, also: Write[] = []): Promise<boolean> {
  const held = users.map((user) => heldTokens(user, appEpoch));
  const tokens = held.reduce((a, b) => a + b, 0);
  const holders = held.filter((h) => h > 0).length;
  return commit([
    ...also,
    ...users.flatMap((user) => revokeUser(user, job.userEpochs[user.userId] as number, appEpoch, iso(now))),
    ...(tokens > 0 ? [uncount(job.orgId, job.appId, appEpoch, tokens, holders)] : []),
  ]);
}

/**
 * Once a revocation has taken effect: unlist the app if it has no active user left, and hand the
 * cleanup to the queue (unless it waits for a slot: `cleanup: false`).
 */
async function afterEffect(job: RevocationJob, { cleanup = true } = {}): Promise<void> {
  if (job.appEpoch === null) await deactivateIfIdle(job.orgId, job.appId);
  if (cleanup) await sendPlan(job);
}

/** Hands a job that took effect to the queue. */
export async function sendPlan(job: RevocationJob): Promise<void> {
  // A lost plan message only delays the cleanup, which the sweep resumes from the job's stored
  // state. The caller must not retry into a second job.
  await enqueue([{ kind: 'plan', orgId: job.orgId, jobId: job.jobId, pass: job.pass }]).catch((error: unknown) =>
    logger.error('Could not enqueue a revocation job; the sweep will resume it', { jobId: job.jobId, error }));
}

/**
 * Raises the users' epochs to the job's targets: the first chunk in the job's creating
 * transaction, the rest right after (`ensureEffect`), before the call answers.
 */
async function revokeUsersAtOnce(job: RevocationJob, shard: AppShard | undefined, users: AppUser[], creation: Write[], now: number): Promise<boolean> {
  if (!shard) return false;
  const [first = [], ...rest] = chunk(users, USERS_PER_TRANSACTION);
  if (!(await revokeUsers(job, shard.revokeEpoch, first, now, creation))) return false;
  await raiseUsers(job, rest.flat().map((u) => u.userId), now);
  return true;
}

/**
 * Makes sure a started job's revocation has fully taken effect: every targeted user's epoch is at
 * least its target (raised now if not, and uncounted with it). Idempotent; run by a retried
 * request and by the worker before it plans, so a call that died half-way never leaves a user's
 * tokens active for longer than it takes to retry or resume. Returns the job as it is.
 */
export async function ensureEffect(job: RevocationJob, now = Date.now()): Promise<RevocationJob> {
  if (job.status !== 'queued' && job.status !== 'running') return job;
  await raiseUsers(job, Object.keys(job.userEpochs), now);
  return job;
}

/** Raises each named user still below the job's target, a transaction per chunk, re-read and retried until it holds. */
async function raiseUsers(job: RevocationJob, userIds: string[], now: number): Promise<void> {
  for (const part of chunk(userIds, USERS_PER_TRANSACTION)) {
    await retrying(async () => {
      const fresh = await getUsersOfApp(job.orgId, job.appId, part);
      const appEpoch = fresh.shard?.revokeEpoch ?? 0;
      // A user whose epoch already reached the target was raised before (or by someone else).
      const pending = part.map((userId) => fresh.users.get(userId) ?? unseenUser(job.orgId, job.appId, userId, appEpoch))
        .filter((u) => u.revokeEpoch < (job.userEpochs[u.userId] as number));
      if (pending.length === 0) return undefined;
      return fresh.shard && (await revokeUsers(job, fresh.shard.revokeEpoch, pending, now)) ? undefined : RETRY;
    }, () => new ConflictError('Users changed concurrently too often; retry with the same Idempotency-Key to finish revoking them'));
  }
}
