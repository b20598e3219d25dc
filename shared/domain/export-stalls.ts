/**
 * Audit exports whose work was lost between steps (a process killed before it sent the next step,
 * a message gone to the DLQ): an unfinished export is in the due index, due STALL_AFTER_MS after
 * its last recorded step, and the sweep then sends its step again, up to MAX_RESUMES times
 * without a step recorded before it ends `failed`. Apart from the steps (audit-exports.ts), so
 * the sweep loads no S3 client.
 */
import { finishExport, getAuditExport, postponeExport, resumeExport, stepClaimed, unlistExport } from '../db/audit-export.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import { exportStepMessage } from '../queue-messages.js';
import { stallCheckAt } from './revocations.js';

/** Times the sweep sends a stalled export's step again without a step recorded in between, before the export fails. */
const MAX_RESUMES = 5;

/**
 * The sweep's look at an unfinished export come due: while a delivery holds its step, looked at
 * again later; a stalled one (no step recorded for STALL_AFTER_MS, none held) has its step sent
 * again, or after MAX_RESUMES of those without progress ends `failed`. What it did.
 */
export async function checkExportProgress(orgId: string, exportId: string, now: number): Promise<'exportsResumed' | 'exportsFailed' | undefined> {
  const exp = await getAuditExport(orgId, exportId, now);
  // Expired (its count given back), or finished with an entry a late write put back: nothing to look at again.
  if (!exp || exp.status === 'succeeded' || exp.status === 'failed') {
    await unlistExport(orgId, exportId, !exp);
    return undefined;
  }
  if (stepClaimed(exp, now)) {
    await postponeExport(exp, stallCheckAt(exp.claimUntil ?? now));
    return undefined;
  }
  if (exp.resumes >= MAX_RESUMES) {
    const failed = await finishExport(exp, now, { error: `The export made no progress in ${MAX_RESUMES} attempts; ask for it again` });
    if (failed) logger.error('An audit export made no progress: the export failed', { orgId, exportId, step: exp.step });
    return failed ? 'exportsFailed' : undefined;
  }
  if (!(await resumeExport(exp, now, stallCheckAt(now)))) return undefined; // another sweep resumed it, or it moved
  logger.warn('Sending a stalled audit export\'s step again', { orgId, exportId, step: exp.step, resumes: exp.resumes + 1 });
  await enqueue([exportStepMessage(exp)]);
  return 'exportsResumed';
}

/**
 * Sends the step of an unfinished export at once (a local server whose queue did not survive a
 * restart): whether it did. One with rows already in the emulator's S3 (a carry or parts, lost
 * with it) ends `failed` instead; one whose step was under way is left to the sweep.
 */
export async function resumeUnfinishedExport(orgId: string, exportId: string, now: number): Promise<boolean> {
  const exp = await getAuditExport(orgId, exportId, now);
  if (!exp || (exp.status !== 'queued' && exp.status !== 'running') || stepClaimed(exp, now)) return false;
  if (exp.carry || exp.upload) {
    await finishExport(exp, now, { error: 'The rows written before the local server restarted were lost with its S3; ask for the export again' });
    return false;
  }
  if (!(await resumeExport(exp, now, stallCheckAt(now)))) return false;
  await enqueue([exportStepMessage(exp)]);
  return true;
}
