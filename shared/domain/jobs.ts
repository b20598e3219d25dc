import { recordEvent } from '../db/audit-event.js';
import { getJob, listJobs, transitionWrite } from '../db/job.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { JobStatus } from '../schemas/revocations.js';
import { iso } from '../time.js';
import { auditEvent } from './audit.js';
import type { Actor, RevocationJob } from '../model.js';
import { cursors, listAnswer } from './paging.js';
import { jobSchema, type JobView } from '../api/revocations.js';
import { viewOf } from '../schemas/answers.js';

/** Revocation jobs as admins see them: read, list, cancel (nothing here reaches the queue). */
export function jobView(job: RevocationJob): JobView {
  const { usersDone, tokensRevoked } = job.progress;
  const kind = job.erasure ? 'personal-data-erasure' : 'revocation';
  // An offboarding's steps are its apps, one user each: its users done are the apps done (an erasure's: the rows it blanked).
  return job.offboarding || job.erasure
    ? viewOf(jobSchema, { ...job, kind, appId: null, progress: { appsDone: usersDone, tokensRevoked } })
    : viewOf(jobSchema, { ...job, kind, progress: { usersDone, tokensRevoked } });
}

export async function getJobOf(orgId: string, jobId: string): Promise<RevocationJob> {
  const job = await getJob(orgId, jobId);
  if (!job) throw new NotFoundError(`Revocation job ${jobId}`);
  return job;
}

export async function listJobsPage(orgId: string, query: { appId?: string; status?: JobStatus; limit: number; cursor?: string }) {
  const list = `jobs\n${query.appId ?? ''}\n${query.status ?? ''}`;
  const page = await listJobs(orgId, { appId: query.appId, status: query.status }, query.limit, cursors.decode(orgId, list, query.cursor));
  return listAnswer(orgId, list, page, jobView);
}

/** DELETE /v1/revocation-jobs/{jobId}: cancels a scheduled job (idempotent); 409 once it started. */
export async function cancelJob(actor: Actor, jobId: string, now: number): Promise<RevocationJob> {
  const job = await getJobOf(actor.orgId, jobId);
  if (job.status === 'cancelled') return job;
  const at = iso(now);
  const event = auditEvent(actor, 'revocation.cancelled', { appId: job.appId, jobId, ...(job.reason ? { reason: job.reason } : {}) }, now);
  if (job.status === 'scheduled' && (await commit([transitionWrite(job, 'scheduled', 'cancelled', { finishedAt: at }, null), recordEvent(event)]))) {
    return { ...job, status: 'cancelled', finishedAt: at };
  }
  const current = await getJobOf(actor.orgId, jobId);
  if (current.status === 'cancelled') return current;
  throw new ConflictError(`The job is ${current.status}; only a scheduled job can be cancelled`);
}
