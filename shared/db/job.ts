/**
 * The revocation-job entity: the org's jobs, newest last in key order (job ids sort by time),
 * listed by app (gsi1), by status (gsi2) and by both (gsi3, keys only); status keys move with the
 * job's status. A job is in the due index while the sweep must look at it.
 */
import * as v from 'valibot';
import type { RevocationJob } from '../model.js';
import type { JobStatus } from '../schemas/revocations.js';
import { recordReader } from './checked.js';
import { dueIndexAttributes, dueKeys } from './due-index.js';
import {
  batchGetConsistent, batchWrite, conditionalUpdate, conditionalUpdateReturning, getItem, itemOf, keyOf, partitionOf, queryPage, removeClause, sameKey, setClause, type Item, type Key, type ListedPage,
} from './requests.js';
import { keyPart, orgPrefix, table } from './table.js';
import { putWrite, updateWrite, type Write } from './unit-of-work.js';

const { gsi1, gsi2, gsi3 } = table.indexes;

export const jobKeys = {
  job: (orgId: string, jobId: string): Key => ({ pk: `${orgPrefix(orgId)}#JOBS`, sk: `JOB#${jobId}` }),
  /**
   * By app (gsi1), by status (gsi2), by both (gsi3). A queued job whose cleanup waits for a slot
   * is marked in its gsi3 sort key (`…#WAIT`, still in job-id order), so the queued ones in
   * progress can be counted from the keys alone.
   */
  lists: (orgId: string, appId: string, status: string, jobId: string, waiting = false) => ({
    [gsi1.partitionKey]: `${orgPrefix(orgId)}#JOBS#APP#${keyPart(appId)}`, [gsi1.sortKey]: `JOB#${jobId}`,
    [gsi2.partitionKey]: `${orgPrefix(orgId)}#JOBS#STATUS#${status}`, [gsi2.sortKey]: `JOB#${jobId}`,
    [gsi3.partitionKey]: `${orgPrefix(orgId)}#JOBS#APP#${keyPart(appId)}#STATUS#${status}`, [gsi3.sortKey]: `JOB#${jobId}${waiting ? '#WAIT' : ''}`,
  }),
};

export const toJob = /* @__PURE__ */ recordReader('RevocationJob', () => ({ orgId: v.string(), jobId: v.string(), appId: v.string(), status: v.string() }), (stored) => {
  const job = stored as unknown as Omit<RevocationJob, 'reconciled'> & { doneBatches?: Set<number>; reconciledUserDrift?: number; reconciledStragglers?: number };
  const { reconciledUserDrift = 0, reconciledStragglers = 0, ...rest } = job;
  return { ...rest, reconciled: { userDrift: reconciledUserDrift, stragglers: reconciledStragglers }, doneBatches: [...(job.doneBatches ?? [])].sort((a, b) => a - b) };
});

/** The write that creates a job (only if new), due for the sweep at `dueAt`. */
export function createJobWrite(job: RevocationJob, dueAt: string): Write {
  return putWrite(jobItem(job, dueAt), { expression: 'attribute_not_exists(pk)' });
}

/** The stored form of a job (tests and the benchmark seed with it too). */
export function jobItem(job: RevocationJob, dueAt: string): Item {
  const { doneBatches: _none, reconciled, ...fields } = job; // an empty set cannot be stored; ADD creates it
  const record = { ...fields, reconciledUserDrift: reconciled.userDrift, reconciledStragglers: reconciled.stragglers };
  return itemOf('RevocationJob', jobKeys.job(job.orgId, job.jobId), record, { ...jobKeys.lists(job.orgId, job.appId, job.status, job.jobId, job.waiting), ...dueKeys.job(dueAt, job.orgId, job.jobId) });
}

/**
 * The cleanups of an app's jobs in progress: its running jobs (counted up to `max`), and its
 * queued ones not waiting for a slot, from the keys of its queued jobs (the org's scheduled jobs
 * are capped, so they fit one page). Two Queries of index keys.
 */
export async function countCleanupsInProgress(orgId: string, appId: string, max: number, queuedAtMost: number): Promise<number> {
  const partition = (status: JobStatus) => partitionOf('gsi3', jobKeys.lists(orgId, appId, status, ''));
  const [running, queued] = await Promise.all([
    queryPage({ index: 'gsi3', partition: partition('running'), limit: max, count: true }),
    queryPage({ index: 'gsi3', partition: partition('queued'), limit: queuedAtMost }),
  ]);
  return running.count + queued.items.filter((key) => !String(key[gsi3.sortKey]).endsWith('#WAIT')).length;
}

/** How many jobs of the org (or of one app) have a status, counted up to `max`: one Query of index keys. */
export async function countJobs(orgId: string, filter: { appId?: string; status: JobStatus }, max: number): Promise<number> {
  const index = filter.appId ? 'gsi3' : 'gsi2';
  return (await queryPage({ index, partition: partitionOf(index, jobKeys.lists(orgId, filter.appId ?? '', filter.status, '')), limit: max, count: true })).count;
}

export async function getJob(orgId: string, jobId: string): Promise<RevocationJob | undefined> {
  return toJob(await getItem(jobKeys.job(orgId, jobId)));
}

/** Jobs newest first: by app (gsi1), by status (gsi2), both (gsi3 keys + one BatchGetItem), or all. */
export async function listJobs(orgId: string, filter: { appId?: string; status?: JobStatus }, limit: number, startKey?: Item): Promise<ListedPage<RevocationJob>> {
  const { appId, status } = filter;
  const spec = { limit, startKey, descending: true };
  const probe = jobKeys.lists(orgId, appId ?? '', status ?? '', '');
  if (appId && status) {
    const page = await queryPage({ ...spec, index: 'gsi3', partition: partitionOf('gsi3', probe) });
    const wanted = page.items.map(keyOf);
    const found = wanted.length ? await batchGetConsistent(wanted) : [];
    // A job whose status moved since the index was read is left out (its resume key with it).
    const kept = wanted.map((k, i) => ({ job: toJob(found.find(sameKey(k))), resumeKey: page.resumeKeys[i] as Item })).filter(({ job }) => job?.status === status);
    return { items: kept.map(({ job }) => job as RevocationJob), lastKey: page.lastKey, resumeKeys: kept.map(({ resumeKey }) => resumeKey) };
  }
  const page = appId
    ? await queryPage({ ...spec, index: 'gsi1', partition: partitionOf('gsi1', probe) })
    : status
      ? await queryPage({ ...spec, index: 'gsi2', partition: partitionOf('gsi2', probe) })
      : await queryPage({ ...spec, partition: jobKeys.job(orgId, '').pk, prefix: 'JOB#' });
  return { items: page.items.map((i) => toJob(i) as RevocationJob), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}

/**
 * The write that moves a job from one status to another (and sets `fields`), only if it is in
 * `from`; `dueAt` is when the sweep must look at it next, null takes it out of the due index.
 */
export function transitionWrite(job: RevocationJob, from: JobStatus, to: JobStatus, fields: Item, dueAt: string | null): Write {
  const set = setClause({ ...fields, status: to, ...jobKeys.lists(job.orgId, job.appId, to, job.jobId, fields.waiting === true), ...(dueAt === null ? {} : dueKeys.job(dueAt, job.orgId, job.jobId)) }, 's');
  const unlisted = removeClause(dueAt === null ? dueIndexAttributes : [], 'r');
  return updateWrite({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}${unlisted.parts.length ? ` REMOVE ${unlisted.parts.join(', ')}` : ''}`,
    ConditionExpression: '#status = :from',
    ExpressionAttributeNames: { ...set.names, ...unlisted.names, '#status': 'status' },
    ExpressionAttributeValues: { ...set.values, ':from': from },
  });
}

/**
 * Starts a new cleanup pass of a queued or running job whose work was lost: planning starts
 * over (cleanup is idempotent; tokens already deleted stay counted in `tokensRevoked`). Only if
 * the job is still in the status and pass that were read, so overlapping sweeps resume it once.
 */
export function startPass(job: RevocationJob, at: string, dueAt: string): Promise<boolean> {
  const set = setClause({ pass: job.pass + 1, plannedBatches: 0, planCursor: null, planComplete: false, lastProgressAt: at, ...dueKeys.job(dueAt, job.orgId, job.jobId) }, 's');
  // Bulk jobs count their users again batch by batch; an all-tokens job's figures were set once, from the counters.
  const recount = job.appEpoch === null;
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}${recount ? ', progress.usersDone = :zero' : ''} REMOVE doneBatches, planner`,
    ConditionExpression: '#status = :status AND #pass = :pass',
    ExpressionAttributeNames: { ...set.names, '#status': 'status', '#pass': 'pass' },
    ExpressionAttributeValues: { ...set.values, ...(recount ? { ':zero': 0 } : {}), ':status': job.status, ':pass': job.pass },
  });
}

/** A scheduled job's run time, stored again in canonical form, with its due entry there (unless it changed meanwhile). */
export function rescheduleJob(job: RevocationJob, runAt: string): Promise<boolean> {
  const set = setClause({ runAt, ...dueKeys.job(runAt, job.orgId, job.jobId) }, 'd');
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')}`,
    ConditionExpression: '#status = :scheduled',
    ExpressionAttributeNames: { ...set.names, '#status': 'status' },
    ExpressionAttributeValues: { ...set.values, ':scheduled': 'scheduled' },
  });
}

/** Sends on a started job whose cleanup waited for a slot: it waits no more, unless another round released it first. */
export function releaseJob(job: RevocationJob, at: string, dueAt: string): Promise<boolean> {
  const set = setClause({ lastProgressAt: at, ...jobKeys.lists(job.orgId, job.appId, 'queued', job.jobId), ...dueKeys.job(dueAt, job.orgId, job.jobId) }, 'd');
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: `SET ${set.parts.join(', ')} REMOVE waiting`,
    ConditionExpression: '#status = :queued AND waiting = :yes AND #pass = :pass',
    ExpressionAttributeNames: { ...set.names, '#status': 'status', '#pass': 'pass' },
    ExpressionAttributeValues: { ...set.values, ':queued': 'queued', ':yes': true, ':pass': job.pass },
  });
}

/** Moves a job's next look by the sweep to `dueAt` (it is still making progress), unless it changed meanwhile. */
export function postponeJob(job: RevocationJob, dueAt: string): Promise<boolean> {
  const set = setClause(dueKeys.job(dueAt, job.orgId, job.jobId), 'd');
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
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
export function recordPlanned(job: RevocationJob, added: number, cursor: Item | null, complete: boolean, at: string, progress?: RevocationJob['progress'], planner?: string): Promise<boolean> {
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: `SET plannedBatches = :planned, planCursor = :cursor, planComplete = :complete, lastProgressAt = :at${progress ? ', progress = :progress' : ''}`,
    // Pinned to the planner too when it names one: a message of an older claim records nothing.
    ConditionExpression: `plannedBatches = :seen AND #pass = :pass${planner ? ' AND planner = :planner' : ''}`,
    ExpressionAttributeNames: { '#pass': 'pass' },
    ExpressionAttributeValues: {
      ':planned': job.plannedBatches + added, ':cursor': cursor, ':complete': complete, ':seen': job.plannedBatches, ':pass': job.pass, ':at': at, ...(progress ? { ':progress': progress } : {}), ...(planner ? { ':planner': planner } : {}),
    },
  });
}

/**
 * Claims the planning of the job's pass for one queue message (by its id): false when another
 * message claimed it first (a duplicate plan message, such as a retried request's), so that only
 * one sends the pass's steps; the same message delivered again (its first delivery died) may
 * plan again, with the same steps. A new pass (`startPass`) is claimed afresh.
 */
export function claimPlanning(job: RevocationJob, messageId: string): Promise<boolean> {
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET planner = :me',
    ConditionExpression: '#pass = :pass AND planComplete = :no AND (attribute_not_exists(planner) OR planner = :me)',
    ExpressionAttributeNames: { '#pass': 'pass' },
    ExpressionAttributeValues: { ':me': messageId, ':pass': job.pass, ':no': false },
  });
}

/** What a step did, added to the job's progress once. */
export interface StepDone { users: number; tokens: number; drift: number; stragglers: number }

/**
 * Counts one finished batch of the job's pass, once: a redelivered batch (or one of an earlier
 * pass) changes nothing. A batch that went on in parts is finished only by the message that
 * claimed its last part (`messageId`). The job after, or undefined if already counted.
 */
export async function recordBatchDone(job: RevocationJob, batch: number, done: StepDone, at: string, messageId: string): Promise<RevocationJob | undefined> {
  return toJob(await conditionalUpdateReturning({
    Key: jobKeys.job(job.orgId, job.jobId),
    // The batch's claim goes with it: the job keeps only the claims of batches in progress.
    UpdateExpression: 'ADD doneBatches :batch, progress.usersDone :users, progress.tokensRevoked :tokens, reconciledUserDrift :drift, reconciledStragglers :stragglers SET lastProgressAt = :at REMOVE #parts',
    ConditionExpression: `attribute_exists(pk) AND #pass = :pass AND NOT contains(doneBatches, :n) AND ${unclaimedByOthers}`,
    ExpressionAttributeNames: { '#pass': 'pass', '#parts': partsAttribute(batch) },
    ExpressionAttributeValues: { ':batch': new Set([batch]), ':n': batch, ':users': done.users, ':tokens': done.tokens, ':drift': done.drift, ':stragglers': done.stragglers, ':at': at, ':pass': job.pass, ':me': messageId },
  }));
}

/**
 * A batch of a bulk, user or offboarding job runs as a chain of parts, one message each, in order
 * (one part, unless its users hold more tokens than a step reads). Its state, on the job while the
 * batch runs (removed once it is counted, so the job keeps as many as run at once): which part may
 * run next and the message that claimed it. A state of an earlier pass counts as none. The message
 * of the part after is kept apart (`partMessageKey`, a week), so that a redelivery of a part that
 * died after recording itself sends it again.
 */
export interface BatchParts { pass: number; part: number; runner?: string }

const partsAttribute = (batch: number) => `parts-${batch}`;
/** No other message of this pass claimed a part of the batch. */
const unclaimedByOthers = '(attribute_not_exists(#parts) OR #parts.#pass <> :pass OR #parts.runner = :me)';
const PART_MESSAGE_DAYS = 7;
const partMessageKey = (job: RevocationJob, batch: number, part: number): Key =>
  ({ pk: `${orgPrefix(job.orgId)}#JOBS`, sk: `JOBPART#${job.jobId}#${job.pass}#${batch}#${part}` });

/** The batch's parts as stored, undefined if none of this pass. */
export function batchPartsOf(job: RevocationJob, batch: number): BatchParts | undefined {
  const parts = (job as unknown as Record<string, BatchParts | undefined>)[partsAttribute(batch)];
  return parts?.pass === job.pass ? parts : undefined;
}

/** The message of a batch's part as its predecessor recorded it (for sending it again), if any. */
export async function recordedPartMessage(job: RevocationJob, batch: number, part: number): Promise<Record<string, unknown> | undefined> {
  return (await getItem(partMessageKey(job, batch, part)))?.message as Record<string, unknown> | undefined;
}

/**
 * Claims part `part` of a batch for one message (by its id), before it changes anything: false
 * when another message claimed it, the batch is done, or the part is not the one next. The same
 * message delivered again (its first delivery died) may claim it again. Of two deliveries of a
 * part, one goes on; the other sends nothing, so a batch never runs in two chains.
 */
export function claimBatchPart(job: RevocationJob, batch: number, part: number, messageId: string): Promise<boolean> {
  const next = '#parts.#pass = :pass AND #parts.part = :part AND (attribute_not_exists(#parts.runner) OR #parts.runner = :me)';
  const claimable = part === 0 ? `(attribute_not_exists(#parts) OR #parts.#pass <> :pass OR (${next}))` : next;
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET #parts = :claim',
    ConditionExpression: `#pass = :pass AND NOT contains(doneBatches, :n) AND ${claimable}`,
    ExpressionAttributeNames: { '#pass': 'pass', '#parts': partsAttribute(batch) },
    ExpressionAttributeValues: { ':claim': { pass: job.pass, part, runner: messageId } satisfies BatchParts, ':pass': job.pass, ':n': batch, ':part': part, ':me': messageId },
  });
}

/**
 * Counts a part of a batch the message claimed, once, and names the next part, whose message
 * (`next`) is kept first, for a redelivery to send again (a message kept by a part whose record
 * then failed is never read: records name the part it belongs to). False if the claim was lost or
 * the batch is done.
 */
export async function recordBatchPart(job: RevocationJob, batch: number, part: number, done: StepDone, at: string, messageId: string, next: Record<string, unknown>): Promise<boolean> {
  await batchWrite([{ PutRequest: { Item: itemOf('JobPartMessage', partMessageKey(job, batch, part + 1), { orgId: job.orgId, jobId: job.jobId, message: next }, {
    [table.ttlAttribute]: Math.ceil(Date.parse(at) / 1000) + PART_MESSAGE_DAYS * 86_400,
  }) } }]);
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET #parts = :next, lastProgressAt = :at ADD progress.usersDone :users, progress.tokensRevoked :tokens, reconciledUserDrift :drift, reconciledStragglers :stragglers',
    ConditionExpression: '#pass = :pass AND NOT contains(doneBatches, :n) AND #parts.#pass = :pass AND #parts.part = :part AND #parts.runner = :me',
    ExpressionAttributeNames: { '#pass': 'pass', '#parts': partsAttribute(batch) },
    ExpressionAttributeValues: {
      ':next': { pass: job.pass, part: part + 1 } satisfies BatchParts, ':at': at, ':pass': job.pass, ':part': part, ':me': messageId, ':n': batch,
      ':users': done.users, ':tokens': done.tokens, ':drift': done.drift, ':stragglers': done.stragglers,
    },
  });
}

/** A step of a running job's pass moved it on (a chain of steps that counts its one batch at the end): the sweep leaves it be. */
export function recordProgressAt(job: RevocationJob, at: string): Promise<boolean> {
  return conditionalUpdate({
    Key: jobKeys.job(job.orgId, job.jobId),
    UpdateExpression: 'SET lastProgressAt = :at',
    ConditionExpression: '#status = :running AND #pass = :pass',
    ExpressionAttributeNames: { '#status': 'status', '#pass': 'pass' },
    ExpressionAttributeValues: { ':at': at, ':running': 'running', ':pass': job.pass },
  });
}

/** An offboarding's steps, one per app it raised, kept for planning (and a resumed pass) this long after the raise. */
const OFFBOARDED_APP_DAYS = 90;
const BATCH_DIGITS = 9;
const offboardedAppKey = (orgId: string, jobId: string, batch: number): Key =>
  ({ pk: `${orgPrefix(orgId)}#JOB#${jobId}#APPS`, sk: `BATCH#${String(batch).padStart(BATCH_DIGITS, '0')}` });

/**
 * In the transaction that raises an offboarded user's epoch in some apps (in the order of their
 * links, after the job's `raiseCursor`): records each app as the job's next step (`apps`, in
 * order; an app whose row or shard is gone is not one), moves the cursor to `through`, the last
 * app read, and marks the apps raised once `complete`. Pinned to the cursor as read, so two raisers
 * never raise an app twice, and a step's number names one app for good.
 */
export function recordOffboardedAppsWrites(job: RevocationJob & { offboarding: NonNullable<RevocationJob['offboarding']> }, apps: string[], through: string, complete: boolean, at: string): Write[] {
  const { orgId, jobId, offboarding: { raiseCursor, raisedApps } } = job;
  const ttl = Math.ceil(Date.parse(at) / 1000) + OFFBOARDED_APP_DAYS * 86_400;
  return [
    updateWrite({
      Key: jobKeys.job(orgId, jobId),
      UpdateExpression: 'SET #o.raiseCursor = :through, #o.raisedApps = :raised, #o.appsRaised = :complete',
      ConditionExpression: '#o.raiseCursor = :seen AND #o.appsRaised = :no',
      ExpressionAttributeNames: { '#o': 'offboarding' },
      ExpressionAttributeValues: { ':through': through, ':raised': raisedApps + apps.length, ':complete': complete, ':seen': raiseCursor, ':no': false },
    }),
    ...apps.map((appId, i) => putWrite(
      itemOf('OffboardedApp', offboardedAppKey(orgId, jobId, raisedApps + i), { orgId, jobId, appId, batch: raisedApps + i }, { [table.ttlAttribute]: ttl }),
      { expression: 'attribute_not_exists(pk)' },
    )),
  ];
}

/**
 * An offboarding an older version started (each app it raised a map entry on the job): those apps
 * written as its steps, numbered in appId order as that version numbered them, and the raise's
 * cursor set after the last (it raised them in that order). Idempotent; the job is read again after.
 */
export async function adoptLegacyOffboarding(job: RevocationJob): Promise<void> {
  const legacy = Object.keys((job.offboarding as { apps?: Record<string, number> } | undefined)?.apps ?? {}).sort();
  const ttl = Math.ceil(Date.now() / 1000) + OFFBOARDED_APP_DAYS * 86_400;
  const { orgId, jobId } = job;
  await batchWrite(legacy.map((appId, batch) => ({ PutRequest: { Item: itemOf('OffboardedApp', offboardedAppKey(orgId, jobId, batch), { orgId, jobId, appId, batch }, { [table.ttlAttribute]: ttl }) } })));
  await conditionalUpdate({
    Key: jobKeys.job(orgId, jobId),
    UpdateExpression: 'SET #o.raiseCursor = :cursor, #o.raisedApps = :raised REMOVE #o.apps',
    ConditionExpression: 'attribute_exists(#o) AND attribute_not_exists(#o.raiseCursor)',
    ExpressionAttributeNames: { '#o': 'offboarding' },
    ExpressionAttributeValues: { ':cursor': legacy.at(-1) ?? '', ':raised': legacy.length },
  });
}

/** The offboarding's steps from number `from` on (at most `limit`): each the app it cleans. One strongly consistent Query. */
export async function offboardedAppsOf(job: RevocationJob, from: number, limit: number): Promise<{ batch: number; appId: string }[]> {
  const { pk, sk: low } = offboardedAppKey(job.orgId, job.jobId, from);
  const page = await queryPage({ partition: pk, between: [low, offboardedAppKey(job.orgId, job.jobId, from + limit - 1).sk], limit, consistent: true });
  return page.items.map((item) => ({ batch: Number(item.batch), appId: String(item.appId) }));
}
