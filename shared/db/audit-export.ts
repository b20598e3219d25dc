/**
 * The audit-export entity: one item per export (`ORG#<org>#EXPORT#<exportId>` / `EXPORT`) and, in
 * the same partition, one per part of its multipart upload (`PART#<n>`, the part's ETag: the
 * upload is completed from these, never from S3's part listing). A step claims the export for a
 * lease before it writes anything to its file, and records what it wrote in one transaction
 * pinned to that claim, so two deliveries of a step never both write one part. An unfinished
 * export is in the due index (its org's jobs' partition), due when the sweep must look for a
 * stall: each recorded step moves it on, finishing takes it out. The org's unfinished exports
 * (`ORG#<org>#EXPORTS` / `UNFINISHED`, a set of ids) gain one in the transaction that creates it,
 * only below the limit, and lose it in the one that finishes it. Kept a week (DynamoDB's TTL), a day once
 * finished (its part items a week from its start).
 */
import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import type { AuditExport } from '../model.js';
import { recordReader } from './checked.js';
import { dueIndexAttributes, dueKeys } from './due-index.js';
import { conditionalUpdate, getItem, itemOf, queryPage, removeClause, setClause, withoutNulls, type Key } from './requests.js';
import { entityAttribute, orgPrefix, table } from './table.js';
import { iso } from '../time.js';
import { retrying, RETRY } from '../retry.js';
import { commitOrFailures, putWrite, updateWrite, type Write } from './unit-of-work.js';

const DAY_S = 86_400;
/** An unfinished export's record is kept this long; a finished one's a day from its end (its file as long: the bucket's lifecycle keeps files two). */
const KEPT_UNFINISHED_S = 7 * DAY_S;

const partition = (orgId: string, exportId: string) => `${orgPrefix(orgId)}#EXPORT#${exportId}`;
export const auditExportKeys = {
  export: (orgId: string, exportId: string): Key => ({ pk: partition(orgId, exportId), sk: 'EXPORT' }),
  /** The org's unfinished exports (a set of their ids). */
  unfinished: (orgId: string): Key => ({ pk: `${orgPrefix(orgId)}#EXPORTS`, sk: 'UNFINISHED' }),
  part: (orgId: string, exportId: string, part: number): Key => ({ pk: partition(orgId, exportId), sk: `PART#${String(part).padStart(5, '0')}` }),
};

/** Attribute names, aliased (some are DynamoDB reserved words). */
const claimNames = { '#step': 'step', '#claim': 'claim', '#claimUntil': 'claimUntil' };

const expiresAt = (fromMs: number, seconds: number) => Math.floor(fromMs / 1000) + seconds;

/**
 * The writes that create an export (due for the sweep's stall check at `dueAt`) and add it to the
 * org's unfinished ones, only while fewer than `max` are: for the transaction that audits it.
 * The second write is the count's: its failed condition means the limit.
 */
export function createExportWrites(exp: AuditExport, dueAt: string, max: number): [Write, Write] {
  const item = itemOf('AuditExport', auditExportKeys.export(exp.orgId, exp.exportId), withoutNulls(exp), {
    [table.ttlAttribute]: expiresAt(Date.parse(exp.createdAt), KEPT_UNFINISHED_S), ...dueKeys.job(dueAt, exp.orgId, exp.exportId),
  });
  return [putWrite(item, { expression: 'attribute_not_exists(pk)' }), unfinishedWrite(exp.orgId, exp.exportId, 'ADD', max)];
}

/**
 * The org's unfinished exports are a set of their ids, so ending one twice, or one that was never
 * in it, takes nothing more away: `ADD` (below `max`) when one is created, `DELETE` when it ends.
 */
const unfinishedWrite = (orgId: string, exportId: string, change: 'ADD' | 'DELETE', max?: number): Write => updateWrite({
  Key: auditExportKeys.unfinished(orgId),
  UpdateExpression: change === 'ADD' ? 'SET #entity = :entity, orgId = :org ADD exportIds :id' : 'DELETE exportIds :id',
  ...(max === undefined ? {} : { ConditionExpression: 'attribute_not_exists(exportIds) OR size(exportIds) < :max' }),
  ...(change === 'ADD' ? { ExpressionAttributeNames: { '#entity': entityAttribute } } : {}),
  ExpressionAttributeValues: { ':id': new Set([exportId]), ...(change === 'ADD' ? { ':entity': 'AuditExportCount', ':org': orgId } : {}), ...(max === undefined ? {} : { ':max': max }) },
});

/** The ids of the org's unfinished exports, as their set holds them. */
export async function unfinishedExportIds(orgId: string): Promise<string[]> {
  const item = await getItem(auditExportKeys.unfinished(orgId));
  return [...((item?.exportIds as Set<string> | undefined) ?? [])];
}

/** Takes exports out of the org's unfinished ones (those that ended, or whose record is gone, without a write that says so). */
export async function forgetUnfinishedExports(orgId: string, exportIds: string[]): Promise<void> {
  if (exportIds.length === 0) return;
  await conditionalUpdate({ Key: auditExportKeys.unfinished(orgId), UpdateExpression: 'DELETE exportIds :ids', ExpressionAttributeValues: { ':ids': new Set(exportIds) } });
}

const toExport = /* @__PURE__ */ recordReader('AuditExport', () => ({ orgId: v.string(), exportId: v.string(), status: v.string(), step: v.number() }), (e) => {
  const x = e as Partial<AuditExport>;
  return {
    ...(e as unknown as AuditExport),
    startedAt: x.startedAt ?? null, finishedAt: x.finishedAt ?? null, error: x.error ?? null,
    cursor: x.cursor ?? null, listEnded: x.listEnded ?? false, carry: x.carry ?? null, upload: x.upload ?? null, bytes: x.bytes ?? null,
    claimUntil: x.claimUntil ?? null, resumes: x.resumes ?? 0,
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
export const stepClaimed = (exp: AuditExport, now: number) => (exp.claimUntil ?? 0) >= now;

/**
 * The sweep's resumption of a stalled export (its next step unclaimed and unrecorded since the
 * due time): counts it and moves the due entry to `dueAt`, only if nothing changed since `exp`
 * was read, so of two sweeps one resumes it. Then its step is sent again.
 */
export function resumeExport(exp: AuditExport, now: number, dueAt: string): Promise<boolean> {
  const due = setClause(dueKeys.job(dueAt, exp.orgId, exp.exportId), 'd');
  return conditionalUpdate({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: `SET #resumes = :resumes, ${due.parts.join(', ')}`,
    ConditionExpression: '#step = :step AND #status IN (:queued, :running) AND (attribute_not_exists(#claimUntil) OR #claimUntil < :now) AND '
      + (exp.resumes === 0 ? '(attribute_not_exists(#resumes) OR #resumes = :before)' : '#resumes = :before'),
    ExpressionAttributeNames: { '#step': 'step', '#claimUntil': 'claimUntil', '#status': 'status', '#resumes': 'resumes', ...due.names },
    ExpressionAttributeValues: {
      ':resumes': exp.resumes + 1, ':step': exp.step, ':queued': 'queued', ':running': 'running', ':now': now, ':before': exp.resumes, ...due.values,
    },
  });
}

/** Moves an export's next stall check to `dueAt` (a step holds it now), unless its step moved meanwhile. */
export function postponeExport(exp: AuditExport, dueAt: string): Promise<boolean> {
  const due = setClause(dueKeys.job(dueAt, exp.orgId, exp.exportId), 'd');
  return conditionalUpdate({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: `SET ${due.parts.join(', ')}`, ConditionExpression: '#step = :step AND #status IN (:queued, :running)',
    ExpressionAttributeNames: { '#step': 'step', '#status': 'status', ...due.names }, ExpressionAttributeValues: { ':step': exp.step, ':queued': 'queued', ':running': 'running', ...due.values },
  });
}

/**
 * Takes an export out of the due index: a finished one whose entry a late write put back, or an
 * expired one (DynamoDB's TTL would only later), which an unfinished one's count gives back.
 */
export async function unlistExport(orgId: string, exportId: string, unfinished: boolean): Promise<boolean> {
  const unlisted = removeClause(dueIndexAttributes, 'r');
  const write = updateWrite({
    Key: auditExportKeys.export(orgId, exportId), UpdateExpression: `REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: `attribute_exists(#due)${unfinished ? ' AND #status IN (:queued, :running)' : ''}`,
    ExpressionAttributeNames: { ...unlisted.names, '#due': table.indexes.gsi4.partitionKey, ...(unfinished ? { '#status': 'status' } : {}) },
    ...(unfinished ? { ExpressionAttributeValues: { ':queued': 'queued', ':running': 'running' } } : {}),
  });
  return (await commitOrFailures(unfinished ? [write, unfinishedWrite(orgId, exportId, 'DELETE')] : [write])) === null;
}

/** What a step wrote: the export's state after it, and the part it uploaded, if any. */
export interface ExportStepRecord {
  rows: number;
  cursor: Record<string, unknown> | null;
  listEnded: boolean;
  carry: AuditExport['carry'];
  upload: AuditExport['upload'];
  part?: { number: number; etag: string };
}

/**
 * Records step `exp.step` under `claim`, releasing it, with the export's next stall check at
 * `dueAt` (and its resumptions, which count those without progress, back to none): false when
 * the claim was lost (nothing recorded).
 */
export function recordExportStep(exp: AuditExport, claim: string, record: ExportStepRecord, dueAt: string): Promise<boolean> {
  const { orgId, exportId } = exp;
  const set = { rows: record.rows, listEnded: record.listEnded, cursor: record.cursor, carry: record.carry, upload: record.upload };
  const present = Object.entries(set).filter(([, value]) => value !== null);
  const absent = ['resumes', ...Object.entries(set).filter(([, value]) => value === null).map(([name]) => name)];
  const due = setClause(dueKeys.job(dueAt, orgId, exportId), 'd');
  const writes = [updateWrite({
    Key: auditExportKeys.export(orgId, exportId),
    UpdateExpression: `SET #step = :next, ${[...present.map(([name]) => `#${name} = :${name}`), ...due.parts].join(', ')} REMOVE #claim, #claimUntil${absent.map((name) => `, #${name}`).join('')}`,
    ConditionExpression: '#claim = :claim AND #step = :step',
    ExpressionAttributeNames: { ...claimNames, ...due.names, ...Object.fromEntries([...Object.keys(set), 'resumes'].map((name) => [`#${name}`, name])) },
    ExpressionAttributeValues: { ':next': exp.step + 1, ':step': exp.step, ':claim': claim, ...due.values, ...Object.fromEntries(present.map(([name, value]) => [`:${name}`, value])) },
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

/**
 * Ends the export (out of the due index and the org's unfinished ones): succeeded with its
 * file's size, or failed with why, under `claim` (the step that holds it), or without one only if
 * nothing moved since `exp` was read (its step, its resumptions, and no live claim).
 */
export async function finishExport(exp: AuditExport, now: number, end: { bytes: number; claim: string } | { error: string; claim?: string }): Promise<boolean> {
  const succeeded = 'bytes' in end;
  const unlisted = removeClause(dueIndexAttributes, 'r');
  const finish = updateWrite({
    Key: auditExportKeys.export(exp.orgId, exp.exportId),
    UpdateExpression: `SET #status = :status, #finishedAt = :at, #ttl = :ttl, ${succeeded ? '#bytes = :bytes' : '#error = :error'} REMOVE #claim, #claimUntil, ${unlisted.parts.join(', ')}`,
    ConditionExpression: end.claim !== undefined ? '#claim = :claim AND #step = :step'
      : '#step = :step AND #status IN (:queued, :running) AND (attribute_not_exists(#claimUntil) OR #claimUntil < :now) AND (attribute_not_exists(#resumes) OR #resumes = :resumes)',
    ExpressionAttributeNames: {
      '#claim': 'claim', '#claimUntil': 'claimUntil', '#status': 'status', '#finishedAt': 'finishedAt', '#ttl': table.ttlAttribute, '#step': 'step', ...unlisted.names,
      ...(succeeded ? { '#bytes': 'bytes' } : { '#error': 'error' }), ...(end.claim !== undefined ? {} : { '#resumes': 'resumes' }),
    },
    ExpressionAttributeValues: {
      ':status': succeeded ? 'succeeded' : 'failed', ':at': iso(now), ':ttl': expiresAt(now, DAY_S), ':step': exp.step,
      ...(succeeded ? { ':bytes': end.bytes } : { ':error': end.error }),
      ...(end.claim !== undefined ? { ':claim': end.claim } : { ':queued': 'queued', ':running': 'running', ':now': now, ':resumes': exp.resumes }),
    },
  });
  // Lost only to a concurrent transaction (no condition failed): again.
  return retrying(async () => {
    const failed = await commitOrFailures([finish, unfinishedWrite(exp.orgId, exp.exportId, 'DELETE')]);
    return failed === null ? true : failed.length > 0 ? false : RETRY;
  }, () => new Error(`Audit export ${exp.exportId} could not be ended (transactions kept colliding)`));
}
