import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from './audit.js';
import { db, TableName } from './client.js';
import { setClause } from './expressions.js';
import { batchGetConsistent, conditionalUpdate, failedConditions, itemOf, partitionOf, queryPage, recordOf, sameKey, type Page } from './items.js';
import { jobIndexKeys, keys } from './keys.js';
import { table } from './table.js';
import type { AuditEvent, RevocationJob } from '../domain/model.js';
import type { JobStatus } from '../schemas/revocations.js';

type Item = Record<string, unknown>;

export function toJob(item: Item | undefined): RevocationJob | undefined {
  const job = recordOf<RevocationJob & { doneBatches?: Set<number> }>(item);
  return job && { ...job, doneBatches: [...(job.doneBatches ?? [])].sort((a, b) => a - b) };
}

/** The Put that creates a job, for the transaction that makes the revocation take effect. */
export function jobPut(job: RevocationJob) {
  const { doneBatches: _none, ...record } = job; // an empty set cannot be stored; ADD creates it
  return {
    Put: {
      TableName,
      Item: itemOf('RevocationJob', keys.job(job.orgId, job.jobId), record, jobIndexKeys(job.orgId, job.appId, job.status, job.jobId)),
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

/** Moves a job from one status to another (and sets `fields`), with its audit event if any; false if it was not in `from`. */
export async function transitionJob(job: RevocationJob, from: JobStatus, to: JobStatus, fields: Item, event?: AuditEvent): Promise<boolean> {
  const set = setClause({ ...fields, status: to, ...jobIndexKeys(job.orgId, job.appId, to, job.jobId) }, 's');
  try {
    await db.send(new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName,
            Key: keys.job(job.orgId, job.jobId),
            UpdateExpression: `SET ${set.parts.join(', ')}`,
            ConditionExpression: '#status = :from',
            ExpressionAttributeNames: { ...set.names, '#status': 'status' },
            ExpressionAttributeValues: { ...set.values, ':from': from },
          },
        },
        ...(event ? [auditPut(event)] : []),
      ],
    }));
    return true;
  } catch (error) {
    if (failedConditions(error)?.includes(0)) return false;
    throw error;
  }
}

/**
 * Records a planning step: `added` more batches sent, the scan's new cursor, whether it is done.
 * Conditional on the batches planned so far, so a duplicated plan message cannot count twice.
 */
export function recordPlanned(job: RevocationJob, added: number, cursor: Item | null, complete: boolean): Promise<boolean> {
  return conditionalUpdate({
    Key: keys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET plannedBatches = :planned, planCursor = :cursor, planComplete = :complete',
    ConditionExpression: 'plannedBatches = :seen',
    ExpressionAttributeValues: { ':planned': job.plannedBatches + added, ':cursor': cursor, ':complete': complete, ':seen': job.plannedBatches },
  });
}

/** Counts one finished batch, once: a redelivered batch changes nothing. The job after, or undefined if already counted. */
export async function recordBatchDone(orgId: string, jobId: string, batch: number, users: number, tokens: number, at: string): Promise<RevocationJob | undefined> {
  try {
    const out = await db.send(new UpdateCommand({
      TableName,
      Key: keys.job(orgId, jobId),
      UpdateExpression: 'ADD doneBatches :batch, progress.usersDone :users, progress.tokensRevoked :tokens SET lastProgressAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND NOT contains(doneBatches, :n)',
      ExpressionAttributeValues: { ':batch': new Set([batch]), ':n': batch, ':users': users, ':tokens': tokens, ':at': at },
      ReturnValues: 'ALL_NEW',
    }));
    return toJob(out.Attributes);
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}
