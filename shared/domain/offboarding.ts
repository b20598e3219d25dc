/**
 * Offboarding (POST /v1/users/{userId}/revocations): every token of a user in every app of the
 * org, in one job. Immediate however many apps: the user's org-wide watermark (`offboardEpoch`,
 * on the org-user item introspection reads anyway) goes up in the transaction that creates the
 * job. Then, before the call answers, the user's epoch goes up in each app they are linked to
 * (uncounted and unlisted there, as a user's Revoke does), so the lists agree with the counts at
 * once (for the first APPS_RAISED_BY_THE_CALL apps; the job's first plan steps raise those of a
 * user linked to more); each app becomes a step of the job, and the queue cleans up app by app.
 */
import pMap from 'p-map';
import { deactivateIfIdle, uncount } from '../db/app.js';
import { appsLinkedAfter, getUsersOfApp, linkedAppIds, REVOKE_USER_WRITES, revokeUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { rememberKeyWrite } from '../db/idempotency-key.js';
import { adoptLegacyOffboarding, createJobWrite, getJob, recordOffboardedAppsWrites } from '../db/job.js';
import { getOrgUser, offboardWrite } from '../db/org-user.js';
import { commit, type Write } from '../db/unit-of-work.js';
import { config } from '../config.js';
import { ConflictError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Actor, RevocationJob } from '../model.js';
import { auditEvent } from './audit.js';
import { idempotencyHashes, jobOfIdempotencyKey, newOrgWideJob, sendPlan, stallCheckAt } from './revocations.js';
import { heldTokens } from './rules.js';

/** Apps raised per transaction: each takes the user's row, its link, a shard of the app and its step; one item is the job's. */
const APPS_PER_TRANSACTION = Math.floor(99 / (REVOKE_USER_WRITES + 2));
/** Apps one plan step of an offboarding raises and sends on as steps (JOB_STEP_USERS: a step's one user is in one app). */
export const APPS_PER_PLAN_STEP = config.jobStepUsers;
/** Apps the call raises before it answers (1,000 unless JOB_STEP_USERS is lowered): the rest, of a user linked to more, are raised by the plan steps. */
const APPS_RAISED_BY_THE_CALL = 10 * APPS_PER_PLAN_STEP;
/** Apps whose rows are read at once. */
const APP_READS_AT_ONCE = 8;

/** A dry run: the apps the user holds active tokens in and how many, from the live rows; nothing changes. */
export async function previewOffboarding(orgId: string, userId: string): Promise<{ appsAffected: number; tokensAffected: number }> {
  const held = await pMap(await linkedAppIds(orgId, userId), async (appId) => {
    const { shard, users } = await getUsersOfApp(orgId, appId, [userId]);
    return shard ? heldTokens(users.get(userId), shard.revokeEpoch) : 0;
  }, { concurrency: APP_READS_AT_ONCE });
  return { appsAffected: held.filter((h) => h > 0).length, tokensAffected: held.reduce((a, b) => a + b, 0) };
}

/**
 * Offboards the user: inactive everywhere when the transaction that creates the job commits (with
 * `revocation.requested`, and `user.blocked` when `block` blocks them too), uncounted in every app
 * before this returns, cleaned up by the queue. A retry with the same Idempotency-Key answers the
 * same job, once it has fully taken effect. `watermarkAt` is the time watermark's (for learned
 * JWTs): now, but for a restore's replay, which re-applies an offboarding at its own time.
 */
export async function offboardUser(actor: Actor, userId: string, request: { reason?: string; block: boolean }, idempotencyKey: string | undefined, now: number, watermarkAt = now): Promise<RevocationJob> {
  const { orgId } = actor;
  const hashes = idempotencyHashes(actor, { key: idempotencyKey, route: 'offboardUser' }, { userId, request });
  const { keyHash, requestHash } = hashes;
  return retrying(async () => {
    const known = await jobOfIdempotencyKey(orgId, hashes, now);
    if (known) return takeEffectEverywhere(known);
    const seen = await getOrgUser(orgId, userId);
    const reason = request.reason ? { reason: request.reason } : {};
    const job = newOrgWideJob(actor, userId, request.reason ?? null, now, { offboarding: { userId, offboardEpoch: seen.offboardEpoch + 1, raiseCursor: '', raisedApps: 0, appsRaised: false, at: iso(watermarkAt) } });
    const events = [
      auditEvent(actor, 'revocation.requested', { userId, jobId: job.jobId, ...reason, details: { target: job.target, block: request.block } }, now),
      ...(request.block && !seen.blocked ? [auditEvent(actor, 'user.blocked', { userId, jobId: job.jobId, ...reason }, now)] : []),
    ];
    const created = await commit([
      offboardWrite(seen, iso(watermarkAt), { block: request.block }), createJobWrite(job, stallCheckAt(now)), ...events.map(recordEvent),
      ...(keyHash ? [rememberKeyWrite(orgId, keyHash, job.jobId, requestHash, now)] : []),
    ]);
    return created ? takeEffectEverywhere(job) : RETRY; // the user changed (or the key was just taken): read again
  }, () => new ConflictError('The user was changed concurrently too often; retry with the same Idempotency-Key'));
}

async function takeEffectEverywhere(job: RevocationJob): Promise<RevocationJob> {
  const raised = await raiseOffboardedApps(job, APPS_RAISED_BY_THE_CALL);
  if (raised.status === 'queued') await sendPlan(raised);
  return raised;
}

type Offboarding = RevocationJob & { offboarding: NonNullable<RevocationJob['offboarding']> };

/**
 * Raises the offboarded user's epoch in up to `maxApps` more of the apps they are linked to, in
 * the order of their links from where the job's raise stopped, a transaction per
 * APPS_PER_TRANSACTION apps (`raiseApps`); the last marks them all raised. Idempotent, and bounded
 * whatever the user's number of apps: the call raises the first APPS_RAISED_BY_THE_CALL, the
 * job's plan steps the rest (and all of them if the call died first; apps the user came to hold
 * tokens in meanwhile are raised too: the call never answered). Returns the job as it is then.
 */
export async function raiseOffboardedApps(job: RevocationJob, maxApps: number): Promise<RevocationJob> {
  let current = job;
  if (current.offboarding && typeof current.offboarding.raiseCursor !== 'string') {
    await adoptLegacyOffboarding(current);
    current = (await getJob(job.orgId, job.jobId)) ?? current;
  }
  // Bounded however others raise at the same time: a transaction lost to another raiser counts as one of ours.
  const transactions = Math.ceil(maxApps / APPS_PER_TRANSACTION);
  for (let raised = 0, tried = 0; raised < maxApps && tried < transactions; tried++) {
    if (!isRaising(current)) return current;
    const step = await raiseApps(current, Math.min(APPS_PER_TRANSACTION, maxApps - raised));
    raised += step.apps;
    current = step.job;
  }
  return current;
}

const isRaising = (job: RevocationJob): job is Offboarding =>
  job.offboarding !== undefined && !job.offboarding.appsRaised && (job.status === 'queued' || job.status === 'running');

/**
 * One transaction of the raise: the next `limit` apps after the job's cursor, each row raised only
 * while its newest token is from before the org-wide watermark (a raise ends every token of the
 * row), each app recorded as the job's next step (`recordOffboardedAppsWrites`, pinned to the
 * cursor as read: two raisers never raise an app twice). The job after it, and the apps it took.
 */
async function raiseApps(job: Offboarding, limit: number): Promise<{ job: RevocationJob; apps: number }> {
  const { orgId, offboarding: { userId, offboardEpoch } } = job;
  // The rows' time watermark is the offboarding's own (a restore's replay re-applies it at its time).
  const at = job.offboarding.at ?? job.createdAt;
  let current: RevocationJob = job;
  return retrying(async () => {
    if (!isRaising(current)) return { job: current, apps: 0 };
    const { appIds, more } = await appsLinkedAfter(orgId, userId, current.offboarding.raiseCursor, limit);
    const read = await pMap(appIds, async (appId) => ({ appId, ...(await getUsersOfApp(orgId, appId, [userId])) }), { concurrency: APP_READS_AT_ONCE });
    const steps: string[] = [];
    const raised: string[] = [];
    const writes: Write[] = [];
    for (const { appId, shard, users } of read) {
      const user = users.get(userId);
      if (!user || !shard) continue; // a link whose row or app is gone holds nothing: no step
      steps.push(appId);
      // A row holding a token registered after the watermark is not raised (that would end it):
      // its step takes the tokens from before the watermark and puts its counts right.
      if (user.lastOrgUserEpoch >= offboardEpoch) continue;
      const held = heldTokens(user, shard.revokeEpoch);
      raised.push(appId);
      writes.push(...revokeUser(user, user.revokeEpoch + 1, shard.revokeEpoch, at), ...(held > 0 ? [uncount(orgId, appId, shard.revokeEpoch, held, 1)] : []));
    }
    const through = appIds.at(-1) ?? current.offboarding.raiseCursor;
    if (await commit([...writes, ...recordOffboardedAppsWrites(current, steps, through, !more, iso(Date.now()))])) {
      await pMap(raised, (appId) => deactivateIfIdle(orgId, appId), { concurrency: APP_READS_AT_ONCE });
      const offboarding = { ...current.offboarding, raiseCursor: through, raisedApps: current.offboarding.raisedApps + steps.length, appsRaised: !more };
      return { job: { ...current, offboarding }, apps: appIds.length };
    }
    // A row moved (a registration), or another raiser took these apps first: read the job again.
    const stored = await getJob(orgId, job.jobId);
    if (!stored?.offboarding) throw new ConflictError(`Revocation job ${job.jobId} is gone`);
    const moved = stored.offboarding.raiseCursor !== current.offboarding.raiseCursor || stored.pass !== current.pass || stored.status !== current.status;
    current = stored;
    return moved ? { job: stored, apps: 0 } : RETRY;
  }, () => new ConflictError('The user\'s apps changed concurrently too often; retry with the same Idempotency-Key to finish revoking them'));
}
