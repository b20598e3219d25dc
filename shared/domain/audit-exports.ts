/**
 * Audit exports (POST /v1/audit-exports): a job that writes the filtered audit log, newest first,
 * to a file of any size, and a download link once it is done. The request is audited
 * (`audit.exported`) in the transaction that records it; the file covers the events before it
 * (`until` is pinned to the request's time), so its rows are the list's rows for the same filters.
 *
 * The worker writes it in steps (queue messages `audit-export`, numbered): each reads up to
 * EXPORT_STEP_PAGES pages of the log and appends them. Rows that fill a part go to S3 as one part
 * of a multipart upload (its ETag recorded on a part item); fewer than a part's minimum wait in a
 * carry object for the next step; a file that ends within its first step is one PutObject. A step
 * claims the export before it writes anything, and records what it wrote under that claim, then
 * sends the next step: a duplicate finds the step taken or done (and is dropped), and an export
 * whose step failed on every delivery ends `failed`. Work lost between steps (a process killed
 * before it sent the next one, a message gone to the DLQ) is found by the sweep (export-stalls.ts).
 */
import { getAuditExport, claimExportStep, createExportWrites, forgetUnfinishedExports, unfinishedExportIds, exportParts, finishExport, recordExportStep, releaseExportStep, stepClaimed, type ExportStepRecord } from '../db/audit-export.js';
import { listAuditEvents, recordEvent, type AuditFilter } from '../db/audit-event.js';
import { rememberKeyWrite } from '../db/idempotency-key.js';
import { commitOrFailures } from '../db/unit-of-work.js';
import { config } from '../config.js';
import { ConflictError, TooManyRequestsError, ValidationError } from '../errors.js';
import { exportFiles, MAX_PARTS, MIN_PART_BYTES } from '../export-files.js';
import { newExportId } from '../ids.js';
import { logger } from '../logger.js';
import type { Actor, AuditAction, AuditExport, AuditExportFilters, AuditExportFormat } from '../model.js';
import { enqueue } from '../queue.js';
import { exportStepMessage, type ExportMessage } from '../queue-messages.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import { workerDelivery } from '../worker-delivery.js';
import { auditEvent, auditView } from './audit.js';
import { exportFormats } from './audit-rows.js';
import { exportFile, filtersView } from './audit-export-view.js';
import { idempotencyHashes, madeWithIdempotencyKey, stallCheckAt } from './revocations.js';

/** A step's claim outlives any step: twice the worker's timeout. */
const LEASE_MS = 2 * workerDelivery.timeoutSeconds * 1000;
/** A step stops reading once its rows fill this much (a part is 5 MiB to 5 GiB). */
const PART_TARGET_BYTES = 8 * 1024 * 1024;
/** Events per page read (the audit list's largest page). */
const PAGE_EVENTS = 100;
/** How long after the request the first step reads: time for the indexes to hold the events written just before it. */
const INDEX_SETTLE_MS = 1000;

/** Exports of an org queued or running at once: they share the worker with revocation cleanup. */
export const MAX_UNFINISHED_EXPORTS_PER_ORG = 10;

export interface AuditExportRequest {
  format: AuditExportFormat;
  filters: { appId?: string; userId?: string; action?: AuditAction[]; actor?: string; since?: string; until?: string };
}

/** Starts an export, queued at once. A retry with the same Idempotency-Key answers the same export. */
export async function requestAuditExport(actor: Actor, request: AuditExportRequest, idempotencyKey: string | undefined, now: number): Promise<AuditExport> {
  const { orgId } = actor;
  const { since, until } = request.filters;
  if (since && until && since >= until) throw ValidationError.field('body.filters.until', 'must be after since');
  if (since && since >= iso(now)) throw ValidationError.field('body.filters.since', 'must be before now: an export holds the events written before it');
  const { keyHash, requestHash } = idempotencyHashes(actor, { key: idempotencyKey, route: 'createAuditExport' }, request);
  return retrying(async () => {
    const known = await madeWithIdempotencyKey(orgId, { keyHash, requestHash }, now, (exportId) => getAuditExport(orgId, exportId, now));
    if (known) {
      // The first call may have died before its first step was sent: sending it again is harmless.
      if (known.status === 'queued' && known.step === 0 && !stepClaimed(known, now)) await enqueue([exportStepMessage(known)]);
      return known;
    }
    const exp = newExport(actor, request, now);
    const event = auditEvent(actor, 'audit.exported', { details: { exportId: exp.exportId, format: exp.format, filters: filtersView(exp.filters) } }, now);
    const failed = await commitOrFailures([
      ...createExportWrites(exp, stallCheckAt(now), MAX_UNFINISHED_EXPORTS_PER_ORG), recordEvent(event), ...(keyHash ? [rememberKeyWrite(orgId, keyHash, exp.exportId, requestHash, now)] : []),
    ]);
    // The idempotency key (the fourth write) was just taken: read again, to answer the export it made.
    if (keyHash && failed?.includes(3)) return RETRY;
    // The set's write (the second) failed its condition: the org is at its limit, unless some of its ids are stale.
    if (failed?.includes(1)) {
      if (await forgetEndedExports(orgId, now)) return RETRY;
      throw new TooManyRequestsError(`The org has ${MAX_UNFINISHED_EXPORTS_PER_ORG} audit exports still running; retry when one has finished`, 30);
    }
    if (failed) return RETRY; // a concurrent transaction: again
    await enqueue([exportStepMessage(exp)]);
    return exp;
  }, () => new ConflictError('The request collided with another too often; retry with the same Idempotency-Key'));
}

/**
 * Takes out of the org's unfinished exports those that are not (their record gone with DynamoDB's
 * TTL, or ended by a write that did not take them out): the set heals itself at the limit,
 * at most MAX_UNFINISHED_EXPORTS_PER_ORG reads. Whether any were.
 */
async function forgetEndedExports(orgId: string, now: number): Promise<boolean> {
  const ids = await unfinishedExportIds(orgId);
  const exports = await Promise.all(ids.map((id) => getAuditExport(orgId, id, now)));
  const ended = ids.filter((_, i) => exports[i]?.status !== 'queued' && exports[i]?.status !== 'running');
  await forgetUnfinishedExports(orgId, ended);
  return ended.length > 0;
}

function newExport(actor: Actor, request: AuditExportRequest, now: number): AuditExport {
  const { action, until, ...rest } = request.filters;
  const at = iso(now);
  // The events before the request: those written while it runs are not in it.
  const filters: AuditExportFilters = { ...rest, ...(action ? { actions: action } : {}), until: until !== undefined && until < at ? until : at };
  return {
    orgId: actor.orgId, exportId: newExportId(now), format: request.format, filters, status: 'queued', requestedBy: actor.sub,
    createdAt: at, startedAt: null, finishedAt: null, error: null, rows: 0, step: 0, cursor: null, listEnded: false, carry: null, upload: null, bytes: null,
    claimUntil: null, resumes: 0,
  };
}


/** One step of an export (a queue message): see the module's comment. */
export async function auditExportStep(message: ExportMessage, now: number, delivery: { receiveCount: number }): Promise<void> {
  const exp = await getAuditExport(message.orgId, message.exportId);
  if (!exp || exp.status === 'succeeded' || exp.status === 'failed') return;
  // A duplicate, or a step sent again by the sweep, of a step done or under way: nothing to do.
  if (exp.step !== message.step) return;
  const claim = await claimExportStep(exp, now, LEASE_MS);
  if (!claim) {
    logger.debug('An audit export step is held by another delivery', { exportId: exp.exportId, step: exp.step });
    return;
  }
  let recorded = false;
  try {
    if (exp.listEnded) {
      const { key } = exportFile(exp);
      // A delivery that completed the upload and died before it recorded so finds the upload gone and the file there.
      const bytes = exp.upload
        ? await exportFiles.complete(key, exp.upload.uploadId, await exportParts(exp.orgId, exp.exportId)).catch(async (error: unknown) => {
          if ((error as Error).name !== 'NoSuchUpload') throw error;
          return exportFiles.size(key);
        })
        : await exportFiles.size(key);
      await finishExport(exp, Date.now(), { bytes, claim });
      return;
    }
    if (exp.upload && exp.upload.parts >= MAX_PARTS) {
      await finishExport(exp, now, { error: `The export needs more than S3's ${MAX_PARTS} parts: narrow its filters or its time range`, claim });
      return;
    }
    // The indexes are eventually consistent: the first step reads no sooner than a moment after the request, so its last events are listed.
    if (exp.step === 0) await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(exp.createdAt) + INDEX_SETTLE_MS - Date.now())));
    const record = await writeStep(exp);
    if (!(await recordExportStep(exp, claim, record, stallCheckAt(Date.now())))) throw new Error(`Audit export ${exp.exportId} lost its claim on step ${exp.step}`);
    recorded = true;
    if (exp.carry) await exportFiles.remove(exp.carry.key).catch((error: unknown) => logger.warn('Could not delete a carry object (the bucket\'s lifecycle will)', { error: error as Error }));
    await enqueue([{ ...message, step: exp.step + 1 }]);
  } catch (error) {
    // Recorded, but the next step could not be sent: the sweep's stall check sends it (a redelivery of this one would find it done).
    if (recorded) {
      logger.error('An audit export step was recorded but its next step could not be sent: the sweep will send it', { error: error as Error, exportId: exp.exportId });
      return;
    }
    // Released, so a redelivery may take the step at once.
    await releaseExportStep(exp, claim).catch(() => undefined);
    if (delivery.receiveCount < workerDelivery.maxReceiveCount) throw error;
    // The last delivery before the DLQ: the export ends failed rather than waiting for ever.
    logger.error('An audit export step failed on every delivery: the export failed', { error: error as Error, exportId: exp.exportId });
    await finishExport(exp, Date.now(), { error: 'The export could not be written; ask for it again' });
  }
}

/** Reads the step's pages and writes what they hold: a part, the whole file, or a carry object. */
async function writeStep(exp: AuditExport): Promise<ExportStepRecord> {
  const format = exportFormats[exp.format];
  const file = exportFile(exp);
  const chunks: Buffer[] = [exp.carry ? await exportFiles.read(exp.carry.key) : Buffer.from(exp.step === 0 ? format.header : '')];
  let bytes = chunks[0]?.length ?? 0;
  let { rows } = exp;
  let cursor = exp.cursor ?? undefined;
  let listEnded = false;
  const { actions, ...rest } = exp.filters;
  const filter: AuditFilter = { ...rest, ...(actions ? { actions } : {}) };
  for (let pages = 0; pages < config.exportStepPages && bytes < PART_TARGET_BYTES && !listEnded; pages++) {
    const page = await listAuditEvents(exp.orgId, filter, PAGE_EVENTS, cursor);
    const text = Buffer.from(page.items.map((e) => format.row(auditView(e))).join(''));
    chunks.push(text);
    bytes += text.length;
    rows += page.items.length;
    cursor = page.lastKey;
    listEnded = cursor === undefined;
  }
  const body = Buffer.concat(chunks);
  const state = { rows, cursor: cursor ?? null, listEnded };
  if (listEnded && !exp.upload) {
    await exportFiles.put(file.key, body, file.contentType);
    return { ...state, carry: null, upload: null };
  }
  if (listEnded || body.length >= MIN_PART_BYTES) {
    const upload = exp.upload ?? { uploadId: await exportFiles.startUpload(file.key, file.contentType), parts: 0 };
    if (body.length === 0) return { ...state, carry: null, upload }; // the parts before hold every row
    const number = upload.parts + 1;
    const etag = await exportFiles.uploadPart(file.key, upload.uploadId, number, body);
    return { ...state, carry: null, upload: { ...upload, parts: number }, part: { number, etag } };
  }
  const carry = { key: `${file.key}.carry-${exp.step + 1}`, bytes: body.length };
  await exportFiles.put(carry.key, body, 'application/octet-stream');
  return { ...state, carry, upload: exp.upload };
}
