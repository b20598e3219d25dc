/**
 * The audit-export entity: one item per export (`ORG#<org>#EXPORT#<exportId>` / `EXPORT`) and, in
 * the same partition, one per part of its multipart upload (`PART#<n>`, the part's ETag: the
 * upload is completed from these, never from S3's part listing). A step claims the export for a
 * lease before it writes anything to its file, and records what it wrote in one transaction
 * pinned to that claim, so two deliveries of a step never both write one part. Kept a week
 * (DynamoDB's TTL), a day once finished.
 */
import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import type { AuditExport } from '../model.js';
import { recordReader } from './checked.js';
import { conditionalUpdate, getItem, itemOf, queryPage, withoutNulls, type Key } from './requests.js';
import { orgPrefix, table } from './table.js';
import { iso } from '../time.js';
import { retrying, RETRY } from '../retry.js';
import { commitOrFailures, putWrite, updateWrite, type Write } from './unit-of-work.js';

const DAY_S = 86_400;
/** An unfinished export's record is kept this long; a finished one's a day from its end (its file as long: the bucket's lifecycle keeps files two). */
const KEPT_UNFINISHED_S = 7 * DAY_S;

const partition = (orgId: string, exportId: string) => `${orgPrefix(orgId)}#EXPORT#${exportId}`;
export const auditExportKeys = {
  export: (orgId: string, exportId: string): Key => ({ pk: partition(orgId, exportId), sk: 'EXPORT' }),
  part: (orgId: string, exportId: string, part: number): Key => ({ pk: partition(orgId, exportId), sk: `PART#${String(part).padStart(5, '0')}` }),
};

/** Attribute names, aliased (some are DynamoDB reserved words). */
const claimNames = { '#step': 'step', '#claim': 'claim', '#claimUntil': 'claimUntil' };

const expiresAt = (fromMs: number, seconds: number) => Math.floor(fromMs / 1000) + seconds;

/** The write that creates an export, for the transaction that audits it. */
export function createExportWrite(exp: AuditExport): Write {
  const item = itemOf('AuditExport', auditExportKeys.export(exp.orgId, exp.exportId), withoutNulls(exp), { [table.ttlAttribute]: expiresAt(Date.parse(exp.createdAt), KEPT_UNFINISHED_S) });
  return putWrite(item, { expression: 'attribute_not_exists(pk)' });
}

const toExport = /* @__PURE__ */ recordReader('AuditExport', () => ({ orgId: v.string(), exportId: v.string(), status: v.string(), step: v.number() }), (e) => {
  const x = e as Partial<AuditExport>;
  return {
    ...(e as unknown as AuditExport),
    startedAt: x.startedAt ?? null, finishedAt: x.finishedAt ?? null, error: x.error ?? null,
    cursor: x.cursor ?? null, listEnded: x.listEnded ?? false, carry: x.carry ?? null, upload: x.upload ?? null, bytes: x.bytes ?? null,
  };
});

/** The export, unless its time is over (DynamoDB's TTL deletes items up to two days late). */
export async function getAuditExport(orgId: string, exportId: string, now = Date.now()): Promise<AuditExport | undefined> {
  const item = await getItem(auditExportKeys.export(orgId, exportId));
  return item && Number(item[table.ttlAttribute]) * 1000 > now ? toExport(item) : undefined;
}

/** Gives a claimed step back, so another delivery may take it at once. */
export async function releaseExportStep(exp: AuditExport, claim: string): Promise<void> {
  await conditionalUpdate({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: 'REMOVE #claim, #claimUntil', ConditionExpression: '#claim = :claim',
    ExpressionAttributeNames: { '#claim': 'claim', '#claimUntil': 'claimUntil' }, ExpressionAttributeValues: { ':claim': claim },
  });
}

/**
 * Claims step `step` of an unfinished export for `leaseMs` (longer than a step can run): only
 * if it is the export's next step and no other delivery holds a live claim on it. Answers the
 * claim, or undefined.
 */
export async function claimExportStep(exp: AuditExport, now: number, leaseMs: number): Promise<string | undefined> {
  const claim = randomUUID();
  const claimed = await conditionalUpdate({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: 'SET #claim = :claim, #claimUntil = :until, #status = :running, #startedAt = if_not_exists(#startedAt, :at)',
    ConditionExpression: '#step = :step AND #status IN (:queued, :running) AND (attribute_not_exists(#claimUntil) OR #claimUntil < :now)',
    ExpressionAttributeNames: { ...claimNames, '#status': 'status', '#startedAt': 'startedAt' },
    ExpressionAttributeValues: { ':claim': claim, ':until': now + leaseMs, ':now': now, ':step': exp.step, ':queued': 'queued', ':running': 'running', ':at': iso(now) },
  });
  return claimed ? claim : undefined;
}

/** Whether some delivery holds a live claim on the export's next step. */
export const stepClaimed = (item: AuditExport & { claimUntil?: number }, now: number) => (item.claimUntil ?? 0) >= now;

/** What a step wrote: the export's state after it, and the part it uploaded, if any. */
export interface ExportStepRecord {
  rows: number;
  cursor: Record<string, unknown> | null;
  listEnded: boolean;
  carry: AuditExport['carry'];
  upload: AuditExport['upload'];
  part?: { number: number; etag: string };
}

/** Records step `exp.step` under `claim`, releasing it: false when the claim was lost (nothing recorded). */
export function recordExportStep(exp: AuditExport, claim: string, record: ExportStepRecord): Promise<boolean> {
  const { orgId, exportId } = exp;
  const set = { rows: record.rows, listEnded: record.listEnded, cursor: record.cursor, carry: record.carry, upload: record.upload };
  const present = Object.entries(set).filter(([, value]) => value !== null);
  const absent = Object.entries(set).filter(([, value]) => value === null).map(([name]) => name);
  const writes = [updateWrite({
    Key: auditExportKeys.export(orgId, exportId),
    UpdateExpression: `SET #step = :next, ${present.map(([name]) => `#${name} = :${name}`).join(', ')} REMOVE #claim, #claimUntil${absent.map((name) => `, #${name}`).join('')}`,
    ConditionExpression: '#claim = :claim AND #step = :step',
    ExpressionAttributeNames: { ...claimNames, ...Object.fromEntries(Object.keys(set).map((name) => [`#${name}`, name])) },
    ExpressionAttributeValues: { ':next': exp.step + 1, ':step': exp.step, ':claim': claim, ...Object.fromEntries(present.map(([name, value]) => [`:${name}`, value])) },
  })];
  if (record.part) {
    const { number, etag } = record.part;
    writes.push(putWrite(itemOf('AuditExportPart', auditExportKeys.part(orgId, exportId, number), { orgId, exportId, part: number, etag }, { [table.ttlAttribute]: expiresAt(Date.parse(exp.createdAt), KEPT_UNFINISHED_S) })));
  }
  // Lost only to a concurrent transaction (no condition failed): the claim is still this step's, so again.
  return retrying(async () => {
    const failed = await commitOrFailures(writes);
    return failed === null ? true : failed.length > 0 ? false : RETRY;
  }, () => new Error(`Audit export ${exportId}: step ${exp.step} could not be recorded (transactions kept colliding)`));
}

/** The ETags of the export's parts, in part order. */
export async function exportParts(orgId: string, exportId: string): Promise<{ number: number; etag: string }[]> {
  const parts: { number: number; etag: string }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queryPage({ partition: partition(orgId, exportId), prefix: 'PART#', consistent: true, ...(startKey ? { startKey } : {}) });
    parts.push(...page.items.map((item) => ({ number: Number(item.part), etag: String(item.etag) })));
    startKey = page.lastKey;
  } while (startKey);
  return parts;
}

/** Ends the export under `claim`: succeeded with its file's size, or failed with why (a failure needs no claim). */
export function finishExport(exp: AuditExport, now: number, end: { bytes: number; claim: string } | { error: string }): Promise<boolean> {
  const succeeded = 'bytes' in end;
  return conditionalUpdate({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: `SET #status = :status, #finishedAt = :at, #ttl = :ttl, ${succeeded ? '#bytes = :bytes' : '#error = :error'} REMOVE #claim, #claimUntil`,
    ConditionExpression: succeeded ? '#claim = :claim AND #step = :step' : '#status IN (:queued, :running)',
    ExpressionAttributeNames: {
      '#claim': 'claim', '#claimUntil': 'claimUntil', '#status': 'status', '#finishedAt': 'finishedAt', '#ttl': table.ttlAttribute,
      ...(succeeded ? { '#bytes': 'bytes', '#step': 'step' } : { '#error': 'error' }),
    },
    ExpressionAttributeValues: {
      ':status': succeeded ? 'succeeded' : 'failed', ':at': iso(now), ':ttl': expiresAt(now, DAY_S),
      ...(succeeded ? { ':bytes': end.bytes, ':claim': end.claim, ':step': exp.step } : { ':error': end.error, ':queued': 'queued', ':running': 'running' }),
    },
  });
}
