/**
 * Personal-data erasure (DELETE /v1/users/{userId}/personal-data): a job that blanks the user's
 * name wherever the service holds it. Names are stored in the user's rows (one per app the user
 * ever held a token of: they outlive the tokens), in their links (and the links' search keys) and
 * in their directory entry (shared/db/user-directory.ts); a write that copies a row's name into a
 * link is pinned to the name as read, so none writes an erased name back;
 * tokens, tombstones, jobs and audit events hold ids, never names. Ids and counts stay: an id that
 * is itself personal data is the authorization server's to replace. The steps go through the
 * org's apps a page at a time (a row may be in any of them), then the user's links; the job
 * succeeds with `user.personal-data.erased`.
 */
import { pageAppIds } from '../db/app.js';
import { eraseNameInLinks, eraseNameInRows } from '../db/app-user.js';
import { eraseNameInDirectory } from '../db/user-directory.js';
import { rememberKeyWrite } from '../db/idempotency-key.js';
import { createJobWrite } from '../db/job.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError } from '../errors.js';
import type { QueueMessage } from '../queue-messages.js';
import { retrying, RETRY } from '../retry.js';
import type { Actor, RevocationJob } from '../model.js';
import { idempotencyHashes, jobOfIdempotencyKey, newOrgWideJob, sendPlan, stallCheckAt } from './revocations.js';

/** Items of the org's apps read per step (an app is its row and its eight shards: about 100 apps). */
const APP_ITEMS_PER_STEP = 900;
/** The user's links per step. */
const LINKS_PER_STEP = 500;

/** Starts the erasure: a job, queued at once. A retry with the same Idempotency-Key answers the same job. */
export async function erasePersonalData(actor: Actor, userId: string, idempotencyKey: string | undefined, now: number): Promise<RevocationJob> {
  const { orgId } = actor;
  const hashes = idempotencyHashes(actor, { key: idempotencyKey, route: 'erasePersonalData' }, { userId });
  const { keyHash, requestHash } = hashes;
  return retrying(async () => {
    const known = await jobOfIdempotencyKey(orgId, hashes, now);
    if (known) return known;
    const job = newOrgWideJob(actor, userId, null, now, { erasure: { userId } });
    if (!(await commit([createJobWrite(job, stallCheckAt(now)), ...(keyHash ? [rememberKeyWrite(orgId, keyHash, job.jobId, requestHash, now)] : [])]))) return RETRY;
    await sendPlan(job);
    return job;
  }, () => new ConflictError('The request collided with another too often; retry with the same Idempotency-Key'));
}

type EraseMessage = Extract<QueueMessage, { kind: 'erase' }>;

/** The erasure's one step chain, its first message. */
export const firstEraseStep = (job: RevocationJob): EraseMessage => ({ kind: 'erase', orgId: job.orgId, jobId: job.jobId, pass: job.pass, batch: 0, phase: 'rows', cursor: null, erased: 0 });

/**
 * One step: the names in the user's rows of a page of the org's apps, or in a page of the user's
 * links. Answers the next step, or the rows erased once the last is done. Erasing again changes
 * nothing, so a step delivered twice is harmless.
 */
export async function eraseStep(job: RevocationJob & { erasure: { userId: string } }, message: EraseMessage): Promise<{ next: EraseMessage } | { rowsErased: number }> {
  const { orgId, erasure: { userId } } = job;
  const startKey = message.cursor ?? undefined;
  if (message.phase === 'rows') {
    const page = await pageAppIds(orgId, APP_ITEMS_PER_STEP, startKey);
    const erased = message.erased + await eraseNameInRows(orgId, userId, page.appIds);
    return { next: { ...message, erased, ...(page.lastKey ? { cursor: page.lastKey as Record<string, string> } : { phase: 'links', cursor: null }) } };
  }
  const lastKey = await eraseNameInLinks(orgId, userId, LINKS_PER_STEP, startKey);
  if (lastKey) return { next: { ...message, cursor: lastKey as Record<string, string> } };
  await eraseNameInDirectory(orgId, userId);
  return { rowsErased: message.erased };
}
