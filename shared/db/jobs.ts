import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from './audit.js';
import { db, TableName } from './client.js';
import { batchGetConsistent, conditionalUpdate, itemOf, transact, type TransactItem, partitionOf, queryPage, recordOf, sameKey, type Page } from './items.js';
import { dueIndexAttributes, dueKeys, jobIndexKeys, keys } from './keys.js';
import { removeClause, setClause } from './expressions.js';
import { table } from './table.js';
import type { AuditEvent, RevocationJob } from '../domain/model.js';
import type { JobStatus } from '../schemas/revocations.js';

type Item = Record<string, unknown>;

export function toJob(item: Item | undefined): RevocationJob | undefined {
  const job = recordOf<Omit<RevocationJob, 'reconciled'> & { doneBatches?: Set<number>; reconciledUserDrift?: number; reconciledStragglers?: number }>(item);
  if (!job) return undefined;
  const { reconciledUserDrift = 0, reconciledStragglers = 0, ...rest } = job;
  return { ...rest, reconciled: { userDrift: reconciledUserDrift, stragglers: reconciledStragglers }, doneBatches: [...(job.doneBatches ?? [])].sort((a, b) => a - b) };
}

/** The Put that creates a job, due for the sweep at `dueAt`, for the transaction that makes the revocation take effect. */
export function jobPut(job: RevocationJob, dueAt: string) {
  const { doneBatches: _none, reconciled, ...fields } = job; // an empty set cannot be stored; ADD creates it
  const record = { ...fields, reconciledUserDrift: reconciled.userDrift, reconciledStragglers: reconciled.stragglers };
  return {
    Put: {
      TableName,
      Item: itemOf('RevocationJob', keys.job(job.orgId, job.jobId), record, {
        ...jobIndexKeys(job.orgId, job.appId, job.status, job.jobId),
        ...dueKeys.job(dueAt, job.orgId, job.jobId),
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** Remembers an Idempotency-Key for a day, in the job's creating transaction. */
export function idempotencyPut(orgId: string, keyHash: string, jobId: string, requestHash: string, now: number) {
  return {
    Put: {
      TableName,
      Item: itemOf('IdempotencyKey', keys.idempotencyKey(orgId, keyHash), { orgId, jobId, requestHash }, {
        [table.ttlAttribute]: Math.floor(now / 1000) + 86_400,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export async function getIdempotencyKey(orgId: string, keyHash: string): Promise<{ jobId: string; requestHash: string } | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.idempotencyKey(orgId, keyHash), ConsistentRead: true }));
  return recordOf<{ jobId: string; requestHash: string }>(out.Item);
}

/** How many jobs of the org (or of one app) have a status, counted up to `max`: one Query of index keys. */
export async function countJobs(orgId: string, filter: { appId?: string; status: JobStatus }, max: number): Promise<number> {
  const probe = jobIndexKeys(orgId, filter.appId ?? '', filter.status, '');
  const index = filter.appId ? 'gsi3' : 'gsi2';
  const out = await db.send(new QueryCommand({
    TableName, IndexName: index, Select: 'COUNT', Limit: max,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': table.indexes[index].partitionKey },
    ExpressionAttributeValues: { ':pk': partitionOf(index, probe) },
  }));
  return out.Count ?? 0;
}

export async function getJob(orgId: string, jobId: string): Promise<RevocationJob | undefined> {
  const out = await db.send(new GetCommand({ TableName, Key: keys.job(orgId, jobId), ConsistentRead: true }));
  return toJob(out.Item);
}

/** Jobs newest first: by app (gsi1), by status (gsi2), both (gsi3 keys + one BatchGetItem), or all. */
export async function listJobs(orgId: string, filter: { appId?: string; status?: JobStatus }, limit: number, startKey?: Item): Promise<Page<RevocationJob>> {
  const { appId, status } = filter;
  const spec = { limit, startKey, descending: true };
  const probe = jobIndexKeys(orgId, appId ?? '', status ?? '', '');
  if (appId && status) {
    const page = await queryPage({ ...spec, index: 'gsi3', partition: partitionOf('gsi3', probe) });
    const wanted = page.items.map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    const found = wanted.length ? await batchGetConsistent(wanted) : [];
    return { items: wanted.map((k) => toJob(found.find(sameKey(k)))).filter((j): j is RevocationJob => j?.status === status), lastKey: page.lastKey };
  }
  const page = appId
    ? await queryPage({ ...spec, index: 'gsi1', partition: partitionOf('gsi1', probe) })
    : status
      ? await queryPage({ ...spec, index: 'gsi2', partition: partitionOf('gsi2', probe) })
      : await queryPage({ ...spec, partition: keys.job(orgId, '').pk, prefix: 'JOB#' });
  return { items: page.items.map((i) => toJob(i) as RevocationJob), lastKey: page.lastKey };
}

export interface Transition {
  /** When the sweep must look at the job next; null takes it out of the due index (finished jobs). */
  dueAt: string | null;
  /** Recorded in the same transaction. */
  event?: AuditEvent;
  /** More writes for the same transaction (a scheduled job's start raises watermarks with it). */
  with?: TransactItem[];
}

/** The update that moves a job from one status to another (and sets `fields`), only if it is in `from`. */
export function jobTransition(job: RevocationJob, from: JobStatus, to: JobStatus, fields: Item, dueAt: string | null) {
  const set = setClause({
    ...fields, status: to, ...jobIndexKeys(job.orgId, job.appId, to, job.jobId),
    ...(dueAt === null ? {} : dueKeys.job(dueAt, job.orgId, job.jobId)),
  }, 's');
  const unlisted = removeClause(dueAt === null ? dueIndexAttributes : [], 'r');
  return {
    Update: {
      TableName,
      Key: keys.job(job.orgId, job.jobId),
      UpdateExpression: `SET ${set.parts.join(', ')}${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
      ConditionExpression: '#status = :from',
      ExpressionAttributeNames: { ...set.names, ...unlisted.names, '#status': 'status' },
      ExpressionAttributeValues: { ...set.values, ':from': from },
    },
  };
}

/** Moves a job from one status to another, with its audit event if any; false if it was not in `from` (or a `with` write failed). */
export async function transitionJob(job: RevocationJob, from: JobStatus, to: JobStatus, fields: Item, transition: Transition): Promise<boolean> {
  return transact([
    jobTransition(job, from, to, fields, transition.dueAt),
    ...(transition.event ? [auditPut(transition.event)] : []),
    ...(transition.with ?? []),
  ]);
}

/**
 * Starts a new cleanup pass of a queued or running job whose work was lost: planning starts
 * over (cleanup is idempotent; tokens already deleted stay counted in `tokensRevoked`). Only if
 * the job is still in the status and pass that were read, so overlapping sweeps resume it once.
 */
export function startPass(job: RevocationJob, at: string, dueAt: string): Promise<boolean> {
  const set = setClause({ pass: job.pass + 1, plannedBatches: 0, planCursor: null, planComplete: false, lastProgressAt: at, ...dueKeys.job(dueAt, job.orgId, job.jobId) }, 's');
  return conditionalUpdate({
    Key: keys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}, progress.usersDone = :zero REMOVE doneBatches`,
    ConditionExpression: '#status = :status AND #pass = :pass',
    ExpressionAttributeNames: { ...set.names, '#status': 'status', '#pass': 'pass' },
    ExpressionAttributeValues: { ...set.values, ':zero': 0, ':status': job.status, ':pass': job.pass },
  });
}

/** A scheduled job's run time, stored again in canonical form, with its due entry there (unless it changed meanwhile). */
export function rescheduleJob(job: RevocationJob, runAt: string): Promise<boolean> {
  const set = setClause({ runAt, ...dueKeys.job(runAt, job.orgId, job.jobId) }, 'd');
  return conditionalUpdate({
    Key: keys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}`,
    ConditionExpression: '#status = :scheduled',
    ExpressionAttributeNames: { ...set.names, '#status': 'status' },
    ExpressionAttributeValues: { ...set.values, ':scheduled': 'scheduled' },
  });
}

/** Moves a job's next look by the sweep to `dueAt` (it is still making progress), unless it changed meanwhile. */
export function postponeJob(job: RevocationJob, dueAt: string): Promise<boolean> {
  const set = setClause(dueKeys.job(dueAt, job.orgId, job.jobId), 'd');
  return conditionalUpdate({
    Key: keys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}`,
    ConditionExpression: '#status = :status AND #pass = :pass',
    ExpressionAttributeNames: { ...set.names, '#status': 'status', '#pass': 'pass' },
    ExpressionAttributeValues: { ...set.values, ':status': job.status, ':pass': job.pass },
  });
}

/**
 * Records a planning step: `added` more batches sent, the scan's new cursor, whether it is done.
 * Conditional on the batches planned so far, so a duplicated plan message cannot count twice.
 */
export function recordPlanned(job: RevocationJob, added: number, cursor: Item | null, complete: boolean, at: string): Promise<boolean> {
  return conditionalUpdate({
    Key: keys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET plannedBatches = :planned, planCursor = :cursor, planComplete = :complete, lastProgressAt = :at',
    ConditionExpression: 'plannedBatches = :seen AND #pass = :pass',
    ExpressionAttributeNames: { '#pass': 'pass' },
    ExpressionAttributeValues: { ':planned': job.plannedBatches + added, ':cursor': cursor, ':complete': complete, ':seen': job.plannedBatches, ':pass': job.pass, ':at': at },
  });
}

/** Counts one finished batch of the job's pass, once: a redelivered batch (or one of an earlier pass) changes nothing. The job after, or undefined if already counted. */
export async function recordBatchDone(job: RevocationJob, batch: number, done: { users: number; tokens: number; drift: number; stragglers: number }, at: string): Promise<RevocationJob | undefined> {
  try {
    const out = await db.send(new UpdateCommand({
      TableName,
      Key: keys.job(job.orgId, job.jobId),
      UpdateExpression: 'ADD doneBatches :batch, progress.usersDone :users, progress.tokensRevoked :tokens, reconciledUserDrift :drift, reconciledStragglers :stragglers SET lastProgressAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND #pass = :pass AND NOT contains(doneBatches, :n)',
      ExpressionAttributeNames: { '#pass': 'pass' },
      ExpressionAttributeValues: { ':batch': new Set([batch]), ':n': batch, ':users': done.users, ':tokens': done.tokens, ':drift': done.drift, ':stragglers': done.stragglers, ':at': at, ':pass': job.pass },
      ReturnValues: 'ALL_NEW',
    }));
    return toJob(out.Attributes);
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}
