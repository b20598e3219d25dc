/**
 * Re-applies the revocation log to a table restored to an earlier point in time: every revocation
 * made since then holds again, through the same paths the API takes (so counts, grants and the
 * queue's cleanup stay exact), and re-running it changes nothing more. See docs/operations.md,
 * "Restoring the table".
 */
import { getJob, toJob } from '../db/job.js';
import { getOrgUser, restoreBlockWrite, toOrgUser, type OrgUser } from '../db/org-user.js';
import { commit } from '../db/unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { getGrants } from '../db/grant.js';
import { getToken, pageGrantTokens } from '../db/token.js';
import {
  markReplayed, putIfAbsent, putIfNewerVersion, removeIfNotNewerVersion, wasReplayed, type LoggedChange,
} from '../db/revocation-log.js';
import { table } from '../db/table.js';
import { ConflictError, NotFoundError, TooManyRequestsError } from '../errors.js';
import { MAX_BULK_USERS } from '../schemas/revocations.js';
import { chunk } from '../chunk.js';
import { iso } from '../time.js';
import type { Actor, RevocationJob, Token } from '../model.js';
import { auditEvent } from './audit.js';
import { cancelJob } from './jobs.js';
import { erasePersonalData } from './erasure.js';
import { offboardUser } from './offboarding.js';
import { requestRevocation } from './revocations.js';
import { revokeToken } from './token-revocation.js';

export interface ReplayReport {
  /** Tokens live in the restored table that a logged revocation had ended: revoked again. */
  tokensRevoked: number;
  /** Revocations of tokens the restored table does not hold (registered after the restore point, or never): remembered again. */
  revocationsRemembered: number;
  /** Grants revoked again through a token of theirs the restored table still holds live. */
  grantsRevoked: number;
  /** Logged jobs re-applied, and the jobs that re-applied them. */
  jobsReapplied: number;
  jobsCreated: string[];
  /** Logged jobs that could not be re-applied now (the app's running-jobs limit): run the replay again later. */
  jobsDeferred: number;
  resourceServersRestored: number;
  /** Users whose block (or unblock) since the restore point was set again. */
  userBlocksRestored: number;
  /** Trusted issuers trusted, replaced or distrusted since the restore point, put back as they were (record and URL copy each count). */
  issuersRestored: number;
  auditEventsRestored: number;
  /** Changes that needed nothing: already in the table, expired since, or a policy's end (the app's policy still applies). */
  unchanged: number;
}

const systemActor = (orgId: string): Actor => ({ orgId, sub: 'restore-replay' });

/** Replays `changes` (the log's lines since the restore point, in any order) onto the table. */
export async function replayRevocationLog(changes: LoggedChange[], now: number): Promise<ReplayReport> {
  const report: ReplayReport = {
    tokensRevoked: 0, revocationsRemembered: 0, grantsRevoked: 0, jobsReapplied: 0, jobsCreated: [], jobsDeferred: 0, resourceServersRestored: 0, userBlocksRestored: 0, issuersRestored: 0, auditEventsRestored: 0, unchanged: 0,
  };
  // One item's changes in the order DynamoDB made them (its stream shard's sequence).
  const ordered = [...changes].sort((a, b) => a.at - b.at || (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
  const jobs: RevocationJob[] = [];
  const tokenRevocations: Record<string, unknown>[] = [];
  // A scheduled job cancelled since the restore point is not re-applied (nor run, if the restored
  // table holds it): its cancellation is audited, and the audit log is logged.
  const cancelled = new Set<string>();
  // Each user's block as the log last saw it.
  const blocks = new Map<string, OrgUser>();
  for (const change of ordered) {
    const { item } = change;
    switch (change.entity) {
      case 'TokenTombstone':
      case 'RevokedValue':
        tokenRevocations.push(item);
        break;
      case 'RevocationJob':
        jobs.push(toJob(item) as RevocationJob);
        break;
      case 'ResourceServer':
      case 'TrustedIssuer':
      case 'TrustedIssuerUrl': {
        const applied = change.change === 'put' ? await putIfNewerVersion(item) : await removeIfNotNewerVersion(item);
        if (!applied) report.unchanged++;
        else if (change.entity === 'ResourceServer') report.resourceServersRestored++;
        else report.issuersRestored++;
        break;
      }
      case 'OrgUser': {
        const logged = toOrgUser(item);
        if (logged) blocks.set(`${logged.orgId}\n${logged.userId}`, logged);
        break;
      }
      case 'AuditEvent':
        if (item.action === 'revocation.cancelled' && typeof item.jobId === 'string') cancelled.add(`${item.orgId as string}\n${item.jobId}`);
        if (await putIfAbsent(item)) report.auditEventsRestored++;
        else report.unchanged++;
        break;
      default:
        report.unchanged++;
    }
  }
  for (const key of cancelled) {
    const [orgId, jobId] = key.split('\n') as [string, string];
    if ((await getJob(orgId, jobId))?.status === 'scheduled') await cancelJob(systemActor(orgId), jobId, now);
  }
  const standing = jobs.filter((job) => !cancelled.has(`${job.orgId}\n${job.jobId}`));
  report.unchanged += jobs.length - standing.length;
  // Jobs first: their watermarks end every token they targeted in one write, so the tombstones
  // their cleanup logged then find those tokens revoked already and cost a read each.
  await reapplyJobs(standing, now, report);
  for (const image of tokenRevocations) await reapplyTokenRevocation(image, now, report);
  // Blocks as they were, with their times (the windows decide which learned tokens live): no new event, the log's are back.
  for (const logged of blocks.values()) {
    const restored = await retrying(async () => {
      const write = restoreBlockWrite(await getOrgUser(logged.orgId, logged.userId), logged);
      if (!write) return false;
      return (await commit([write])) ? true : RETRY;
    }, () => new ConflictError(`The user ${logged.userId} changed concurrently too often; run the replay again`));
    if (restored) report.userBlocksRestored++;
    else report.unchanged++;
  }
  return report;
}

/** A tombstone or a remembered RFC 7009 value from the log. */
async function reapplyTokenRevocation(image: Record<string, unknown>, now: number, report: ReplayReport): Promise<void> {
  const ttl = image[table.ttlAttribute];
  // Past its TTL the revocation no longer needs remembering (the token can no longer be presented).
  if (typeof ttl === 'number' && ttl * 1000 <= now) {
    report.unchanged++;
    return;
  }
  const orgId = image.orgId as string;
  const policyEnded = image.policyEnded === true;
  const current = await getToken(orgId, image.lookupKey as string);
  // A live token a logged revocation ended is revoked again (a refresh token with its grant), as is
  // a refresh token a policy had ended and that was revoked after all. A policy's own end of a live
  // token is the app's policy's to enforce again (its sweep and introspection do).
  const revokedAfterAll = current !== undefined && current.revokedAt !== null && current.policyEnded && current.type === 'refresh' && !policyEnded;
  if (current && (current.revokedAt === null ? !policyEnded : revokedAfterAll)) {
    const event = auditEvent(systemActor(orgId), 'token.revoked', { appId: current.appId, userId: current.userId, tokenId: current.tokenId, details: { type: current.type, via: 'restore-replay' } }, now, 'system');
    if (await revokeToken(current, now, event)) report.tokensRevoked++;
    else report.unchanged++;
    return;
  }
  if (current) {
    report.unchanged++;
    return;
  }
  // A refresh token the restored table never saw (a successor rotated in after the restore point)
  // took its grant with it: the grant's tokens the table does hold die too — before its tombstone
  // is put back, so that a run stopped in between does it on the next run.
  if (image.type === 'refresh' && typeof image.grantId === 'string' && !policyEnded && (await revokeRestoredGrant(orgId, image.grantId, now))) report.grantsRevoked++;
  // Remembered again (a policy's end too): a retried registration of the value stays refused.
  if (await putIfAbsent(image)) report.revocationsRemembered++;
  else report.unchanged++;
}

/** Revokes a grant the restored table holds live, through one of its live tokens (a refresh token takes the whole grant). */
async function revokeRestoredGrant(orgId: string, grantId: string, now: number): Promise<boolean> {
  const grant = (await getGrants(orgId, [grantId])).get(grantId);
  if (!grant || grant.revokedAt !== null) return false;
  const live: Token[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await pageGrantTokens(grant, startKey);
    live.push(...page.items.filter((t) => t.revokedAt === null && t.retiredAt === null));
    startKey = page.lastKey;
  } while (startKey);
  const refresh = live.find((t) => t.type === 'refresh');
  const event = (t: Token) => auditEvent(systemActor(orgId), 'token.revoked', { appId: t.appId, userId: t.userId, tokenId: t.tokenId, details: { type: t.type, via: 'restore-replay' } }, now, 'system');
  if (refresh) return revokeToken(refresh, now, event(refresh));
  let revoked = false;
  for (const token of live) revoked = (await revokeToken(token, now, event(token))) || revoked;
  return revoked;
}

/**
 * Logged jobs the restored table does not hold are asked for again, as the system: per app, the
 * immediate ones as one revocation of all tokens (if any was) or Bulk Revokes of their users (in
 * calls of 1,000), the scheduled ones still ahead with their own `runAt`. Every token the restored
 * table holds was registered before them, so their target is exactly what they revoked. Each
 * logged job is marked once re-applied, so that a second run never revokes what came after (a
 * copy of the restored table, which takes the re-applied jobs back, takes the marks too).
 */
async function reapplyJobs(logged: RevocationJob[], now: number, report: ReplayReport): Promise<void> {
  const pending: RevocationJob[] = [];
  for (const job of logged) {
    if ((await getJob(job.orgId, job.jobId)) || (await wasReplayed(job.orgId, job.jobId))) report.unchanged++;
    else pending.push(job);
  }
  // Offboardings and erasures, user by user, through their own calls: every token of the user the
  // restored table holds was registered before the offboarding, and every name it holds was there
  // before the erasure.
  for (const job of pending.filter((j) => 'userId' in j.target)) {
    const { orgId, jobId } = job;
    const { userId } = job.target as { userId: string };
    const key = `restore#${jobId}`;
    try {
      // An offboarding's time watermark is the original's: a JWT issued after it lives.
      const again = job.erasure
        ? await erasePersonalData(systemActor(orgId), userId, key, now)
        : await offboardUser(systemActor(orgId), userId, { block: false, reason: `Re-applied after a restore of the table: job ${jobId}` }, key, now, Date.parse(job.createdAt));
      report.jobsCreated.push(again.jobId);
      await markReplayed(orgId, [jobId], again.jobId, iso(now));
      report.jobsReapplied++;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      report.jobsDeferred++; // the user changed concurrently too often: the next run takes it
    }
  }
  const groups = new Map<string, RevocationJob[]>();
  for (const job of pending.filter((j) => !('userId' in j.target))) {
    const ahead = job.runAt !== null && Date.parse(job.runAt) > now;
    const group = ahead ? `${job.orgId}\n${job.appId}\n${job.jobId}` : `${job.orgId}\n${job.appId}`;
    groups.set(group, [...(groups.get(group) ?? []), job]);
  }
  for (const jobs of groups.values()) {
    const { orgId, appId } = jobs[0] as RevocationJob;
    const ids = jobs.map((j) => j.jobId);
    const runAt = jobs.length === 1 && jobs[0]?.runAt && Date.parse(jobs[0].runAt) > now ? jobs[0].runAt : undefined;
    const reason = `Re-applied after a restore of the table: job ${ids[0]}${ids.length > 1 ? ` and ${ids.length - 1} more` : ''}`;
    const unknown = jobs.find((j) => !('all' in j.target) && !('userIds' in j.target));
    if (unknown) throw new Error(`Logged job ${unknown.jobId} has a target this replay does not know: ${JSON.stringify(unknown.target)}`);
    const requests = jobs.some((j) => 'all' in j.target)
      ? [{ all: true as const }]
      : chunk([...new Set(jobs.flatMap((j) => ('userIds' in j.target ? j.target.userIds : [])))], MAX_BULK_USERS).map((userIds) => ({ userIds }));
    try {
      let lastJobId: string | null = null;
      for (const [i, target] of requests.entries()) {
        const job = await requestRevocation(systemActor(orgId), appId, { ...target, reason, ...(runAt ? { runAt } : {}) }, { key: `${ids.join(',')}#${i}`, route: 'restoreReplay' }, now, 'system');
        report.jobsCreated.push(job.jobId);
        lastJobId = job.jobId;
      }
      await markReplayed(orgId, ids, lastJobId, iso(now));
      report.jobsReapplied += ids.length;
    } catch (error) {
      if (error instanceof NotFoundError) {
        // The app itself came after the restore point: the table holds none of its tokens.
        await markReplayed(orgId, ids, null, iso(now));
        report.jobsReapplied += ids.length;
      } else if (error instanceof TooManyRequestsError) {
        report.jobsDeferred += ids.length;
      } else {
        throw error;
      }
    }
  }
}
