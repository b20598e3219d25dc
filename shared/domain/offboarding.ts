/**
 * Offboarding (POST /v1/users/{userId}/revocations): every token of a user in every app of the
 * org, in one job. Immediate however many apps: the user's org-wide watermark (`offboardEpoch`,
 * on the org-user item introspection reads anyway) goes up in the transaction that creates the
 * job. Then, before the call answers, the user's epoch goes up in each app they are linked to
 * (uncounted and unlisted there, as a user's Revoke does), so the lists agree with the counts at
 * once; each app's raised epoch is recorded on the job, and the queue cleans up app by app.
 */
import pMap from 'p-map';
import { deactivateIfIdle, uncount } from '../db/app.js';
import { getUsersOfApp, linkedAppIds, REVOKE_USER_WRITES, revokeUser } from '../db/app-user.js';
import { recordEvent } from '../db/audit-event.js';
import { rememberKeyWrite } from '../db/idempotency-key.js';
import { createJobWrite, getJob, recordOffboardedAppsWrite } from '../db/job.js';
import { getOrgUser, offboardWrite } from '../db/org-user.js';
import { commit, type Write } from '../db/unit-of-work.js';
import { chunk } from '../chunk.js';
import { ConflictError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Actor, RevocationJob } from '../model.js';
import { auditEvent } from './audit.js';
import { idempotencyHashes, jobOfIdempotencyKey, newOrgWideJob, sendPlan, stallCheckAt } from './revocations.js';
import { heldTokens } from './rules.js';

/** Apps raised per transaction: each takes the user's row, its link and a shard of the app; one item is the job's. */
const APPS_PER_TRANSACTION = Math.floor(99 / (REVOKE_USER_WRITES + 1));
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
    const job = newOrgWideJob(actor, userId, request.reason ?? null, now, { offboarding: { userId, offboardEpoch: seen.offboardEpoch + 1, apps: {}, appsRaised: false, at: iso(watermarkAt) } });
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
  const raised = await raiseOffboardedApps(job);
  if (raised.status === 'queued') await sendPlan(raised);
  return raised;
}

/**
 * Raises the offboarded user's epoch in every app they are linked to that the job has not raised
 * yet (each row only while its newest token is from before the org-wide watermark: a raise ends
 * every token of the row), a transaction per APPS_PER_TRANSACTION apps, each recording its apps' targets on the job
 * (only if unrecorded: two raisers never raise an app twice); the last marks them all raised.
 * Idempotent; run by the call and, if it died before the end, by the worker before it plans (apps
 * the user came to hold tokens in meanwhile are raised too: the call never answered). Returns the
 * job as it is then.
 */
export async function raiseOffboardedApps(job: RevocationJob): Promise<RevocationJob> {
  if (!job.offboarding || job.offboarding.appsRaised || (job.status !== 'queued' && job.status !== 'running')) return job;
  const { orgId, offboarding: { userId, offboardEpoch } } = job;
  // The rows' time watermark is the offboarding's own (a restore's replay re-applies it at its time).
  const at = job.offboarding.at ?? job.createdAt;
  const parts = chunk(await linkedAppIds(orgId, userId), APPS_PER_TRANSACTION);
  let current = job;
  for (const [i, part] of (parts.length ? parts : [[]]).entries()) {
    const last = i >= parts.length - 1;
    const raised = await retrying(async () => {
      const recorded = current.offboarding?.apps ?? {};
      const read = await pMap(part.filter((appId) => recorded[appId] === undefined), async (appId) => ({ appId, ...(await getUsersOfApp(orgId, appId, [userId])) }), { concurrency: APP_READS_AT_ONCE });
      const targets: Record<string, number> = {};
      const writes: Write[] = [];
      for (const { appId, shard, users } of read) {
        const user = users.get(userId);
        // A link whose row or app is gone holds nothing: recorded with no target, so its step finds nothing.
        // A row holding a token registered after the watermark is not raised (that would end it):
        // its step takes the tokens from before the watermark and puts its counts right.
        const raise = user && shard && user.lastOrgUserEpoch < offboardEpoch;
        targets[appId] = user && shard ? (raise ? user.revokeEpoch + 1 : user.revokeEpoch) : 0;
        if (!user || !shard || !raise) continue;
        const held = heldTokens(user, shard.revokeEpoch);
        writes.push(...revokeUser(user, user.revokeEpoch + 1, shard.revokeEpoch, at), ...(held > 0 ? [uncount(orgId, appId, shard.revokeEpoch, held, 1)] : []));
      }
      if (await commit([...writes, recordOffboardedAppsWrite(current, targets, last)])) {
        current = { ...current, offboarding: { ...(current.offboarding as NonNullable<RevocationJob['offboarding']>), apps: { ...recorded, ...targets }, appsRaised: last } };
        return Object.keys(targets);
      }
      // A row moved (a registration), or another raiser recorded some of these apps first.
      const stored = await getJob(orgId, job.jobId);
      if (!stored?.offboarding) throw new ConflictError(`Revocation job ${job.jobId} is gone`);
      current = stored;
      return stored.offboarding.appsRaised ? [] : RETRY;
    }, () => new ConflictError('The user\'s apps changed concurrently too often; retry with the same Idempotency-Key to finish revoking them'));
    await pMap(raised, (appId) => deactivateIfIdle(orgId, appId), { concurrency: APP_READS_AT_ONCE });
    if (current.offboarding?.appsRaised) break;
  }
  return current;
}
