import { writeFileSync } from 'node:fs';
import pMap from 'p-map';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, GetCommand, type BatchWriteCommandInput, type BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import { CapacityModel, itemSize } from '../capacity.js';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { chunk } from '../../shared/chunk.js';
import { config } from '../../shared/config.js';
import { appKeys, getAppWithCounters } from '../../shared/db/app.js';
import { createJobWrite, getJob } from '../../shared/db/job.js';
import { getOrgUser, offboardWrite } from '../../shared/db/org-user.js';
import { commit } from '../../shared/db/unit-of-work.js';
import { APPS_PER_PLAN_STEP } from '../../shared/domain/offboarding.js';
import { newOrgWideJob, sendPlan, stallCheckAt } from '../../shared/domain/revocations.js';
import { iso } from '../../shared/time.js';
import { BATCH_WRITE_CONCURRENCY } from '../../shared/db/requests.js';
import { table } from '../../shared/db/table.js';
import { tokenKeys, tombstoneItem, toToken } from '../../shared/db/token.js';
import type { Token } from '../../shared/model.js';
import { queueClient } from '../../shared/queue.js';
import { workerDelivery } from '../../shared/worker-delivery.js';
import { drainQueue, LOCAL_WORKER_INVOCATIONS } from '../../local/queue-poller.js';
import { as, call } from '../../test/support/api.js';
import { round, type Metric } from '../metric.js';
import { recordRequests, type Entry } from '../request-counter.js';
import { seedApp } from '../seed.js';

const org = 'bench-revoke';
/** A user row's index entries in the active-user lists: the floor writes each affected row once with them (the job itself deletes the user's app link instead). */
const USER_LISTING = [table.indexes.gsi3.partitionKey, table.indexes.gsi3.sortKey, table.indexes.gsi4.partitionKey, table.indexes.gsi4.sortKey];
/** Records per worker invocation: the event source's batch size, processed in parallel. */
const RECORDS_PER_INVOCATION = workerDelivery.batchSize;
/** Worker invocations at once, as the local server runs them; the bare loop gets as many requests in flight. */
const WORKER_INVOCATIONS = LOCAL_WORKER_INVOCATIONS;

/** One delivery of a queue message: a message delivered again (after a visibility timeout) is a new piece of work. */
const deliveryOf = (e: Entry) => `${e.messageId}#${e.receiveCount ?? 1}`;

/** Apps per size in the call-latency comparison, and their sizes. */
const LATENCY_APPS = 5;
const LATENCY_SIZES = { small: 1_000, large: 100_000 };

/**
 * Revokes every token of a freshly seeded app (users × perUser tokens) and runs the real worker
 * until the job has succeeded and the counts are exact; records every request made meanwhile.
 */
async function revokeAppToTheEnd(appId: string, users: number, perUser: number, queue: { url: string; endpoint: string }) {
  const tokens = users * perUser;
  // The capacity model learns the seeded items (their sizes and index entries), and from them the floor.
  const model = new CapacityModel();
  let floorWCU = 0;
  const [firstKey] = await seedApp(org, appId, users, perUser, {
    learn: (items) => {
      model.learn(items);
      for (const item of items) floorWCU += item.entity === 'Token' ? model.removalUnits(item) : item.entity === 'AppUser' ? model.removingUnits(item, USER_LISTING) : 0;
    },
  });
  const { handler: worker } = await import('../../functions/worker/queue-worker.js');
  const poller = new SQSClient({ endpoint: queue.endpoint, region: 'us-east-1' });
  const dynamoRequests = recordRequests(dynamo, model);
  const sqsRequests = recordRequests(queueClient);

  let jobSeconds = 0;
  let callEnded = 0;
  let jobId = '';
  await dynamoRequests.during(() => sqsRequests.during(async () => {
    const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true, reason: 'benchmark' } });
    if (reply.status !== 202) throw new Error(`revocation: ${reply.status} ${reply.text}`);
    jobId = reply.body.jobId as string;
    callEnded = performance.now();
    await drainQueue(poller, queue.url, worker, { invocations: WORKER_INVOCATIONS, retryFailedAtOnce: true });
    jobSeconds = (performance.now() - callEnded) / 1000;
  }));
  dynamoRequests.dispose();
  sqsRequests.dispose();
  const job = await getJob(org, jobId);
  const app = await getAppWithCounters(org, appId);
  if (job?.status !== 'succeeded' || job.progress.tokensRevoked !== tokens || app?.activeTokenCount !== 0) {
    throw new Error(`the revocation did not end exact: ${JSON.stringify({ job: job?.status, progress: job?.progress, app: app?.activeTokenCount })}`);
  }
  // The most DynamoDB requests one delivery of a queue message made (the worker logs under its message id and receive count).
  const perMessage = new Map<string, number>();
  for (const e of dynamoRequests.entries()) if (e.messageId) perMessage.set(deliveryOf(e), (perMessage.get(deliveryOf(e)) ?? 0) + 1);
  return { tokens, firstKey, job, jobSeconds, callEnded, dynamoRequests, sqsRequests, floorWCUPerToken: floorWCU / tokens, maxRequestsPerMessage: Math.max(...perMessage.values()) };
}

/**
 * A Bulk Revoke of one user holding `held` tokens (and one of 10 beside it), run by the real
 * worker to the end: its steps go on in parts of about JOB_STEP_TOKENS tokens each. The most
 * DynamoDB requests one delivery of a message made.
 */
async function bulkRevokeHeavyUser(appId: string, held: number, queue: { url: string; endpoint: string }): Promise<number> {
  await seedApp(org, appId, 1, held);
  await seedApp(org, `${appId}-light`, 1, 10); // another app's user, untouched
  const { handler: worker } = await import('../../functions/worker/queue-worker.js');
  const poller = new SQSClient({ endpoint: queue.endpoint, region: 'us-east-1' });
  const dynamoRequests = recordRequests(dynamo);
  let jobId = '';
  await dynamoRequests.during(async () => {
    const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: { userIds: ['user-000000'], reason: 'benchmark' } });
    if (reply.status !== 202) throw new Error(`bulk revocation: ${reply.status} ${reply.text}`);
    jobId = reply.body.jobId as string;
    await drainQueue(poller, queue.url, worker, { invocations: WORKER_INVOCATIONS, retryFailedAtOnce: true });
  });
  dynamoRequests.dispose();
  const job = await getJob(org, jobId);
  const app = await getAppWithCounters(org, appId);
  if (job?.status !== 'succeeded' || job.progress.tokensRevoked !== held || app?.activeTokenCount !== 0) {
    throw new Error(`the bulk revocation did not end exact: ${JSON.stringify({ job: job?.status, progress: job?.progress, app: app?.activeTokenCount })}`);
  }
  const perMessage = new Map<string, number>();
  for (const e of dynamoRequests.entries()) if (e.messageId) perMessage.set(deliveryOf(e), (perMessage.get(deliveryOf(e)) ?? 0) + 1);
  return Math.max(...perMessage.values());
}

/** Bulk Revoke of one user holding 10× and 100× a step's tokens: the largest message stays the same size. */
export async function measureHeavyUserRevocation(options: { queueUrl: string; sqsEndpoint: string }): Promise<Metric[]> {
  const queue = { url: options.queueUrl, endpoint: options.sqsEndpoint };
  const step = config.jobStepTokens;
  const tenfold = await bulkRevokeHeavyUser('heavy-10x', 10 * step, queue);
  const hundredfold = await bulkRevokeHeavyUser('heavy-100x', 100 * step, queue);
  return [
    { name: 'revoke.heavyUser.maxRequestsPerMessage', value: hundredfold, unit: `DynamoDB requests (worst queue message, Bulk Revoke of one user holding ${(100 * step).toLocaleString('en')} tokens)`, limit: null },
    { name: 'revoke.heavyUser.maxRequestsPerMessageGrowth10x', value: round(hundredfold / tenfold), unit: `ratio (one user holding 100× ÷ 10× a step's ${step.toLocaleString('en')} tokens)`, limit: { max: 1.1 } },
  ];
}

/**
 * An offboarding of one user linked to `apps` apps (one token each, a user of 10 beside them in
 * the first) whose call died right after it committed, so the job's plan steps raise every app
 * too, run by the real worker to the end. The most DynamoDB requests one delivery of a message made.
 */
async function offboardAcrossApps(prefix: string, apps: number, queue: { url: string; endpoint: string }): Promise<number> {
  // An org of its own: the user's apps are exactly these (the other parts link user-000000 to theirs).
  const org = `bench-${prefix}`;
  const userId = 'user-000000';
  await pMap(Array.from({ length: apps }, (_, a) => `${prefix}-${a}`), (appId) => seedApp(org, appId, 1, 1), { concurrency: 8 });
  await seedApp(org, `${prefix}-light`, 10, 1); // another app, its users untouched but one
  const { handler: worker } = await import('../../functions/worker/queue-worker.js');
  const poller = new SQSClient({ endpoint: queue.endpoint, region: 'us-east-1' });
  const dynamoRequests = recordRequests(dynamo);
  const now = Date.now();
  const seen = await getOrgUser(org, userId);
  const job = newOrgWideJob({ orgId: org, sub: 'bench' }, userId, 'benchmark', now, { offboarding: { userId, offboardEpoch: seen.offboardEpoch + 1, raiseCursor: '', raisedApps: 0, appsRaised: false, at: iso(now) } });
  if (!(await commit([offboardWrite(seen, iso(now), { block: false }), createJobWrite(job, stallCheckAt(now))]))) throw new Error('offboarding: the job was not created');
  await dynamoRequests.during(async () => {
    await sendPlan(job);
    await drainQueue(poller, queue.url, worker, { invocations: WORKER_INVOCATIONS, retryFailedAtOnce: true });
  });
  dynamoRequests.dispose();
  const done = await getJob(org, job.jobId);
  const light = await getAppWithCounters(org, `${prefix}-light`);
  if (done?.status !== 'succeeded' || done.progress.tokensRevoked !== apps + 1 || done.progress.usersDone !== apps + 1 || light?.activeTokenCount !== 9) {
    throw new Error(`the offboarding did not end exact: ${JSON.stringify({ job: done?.status, progress: done?.progress, light: light?.activeTokenCount })}`);
  }
  const perMessage = new Map<string, number>();
  for (const e of dynamoRequests.entries()) if (e.messageId) perMessage.set(deliveryOf(e), (perMessage.get(deliveryOf(e)) ?? 0) + 1);
  return Math.max(...perMessage.values());
}

/** An offboarding of one user linked to 1× and 10× a plan step's apps: the largest message stays the same size. */
export async function measureOffboarding(options: { queueUrl: string; sqsEndpoint: string }): Promise<Metric[]> {
  const queue = { url: options.queueUrl, endpoint: options.sqsEndpoint };
  const step = APPS_PER_PLAN_STEP;
  const onefold = await offboardAcrossApps('offboard-1x', step, queue);
  const tenfold = await offboardAcrossApps('offboard-10x', 10 * step, queue);
  return [
    { name: 'offboard.maxRequestsPerMessage', value: tenfold, unit: `DynamoDB requests (worst queue message, one user in ${(10 * step + 1).toLocaleString('en')} apps, raised by the job's steps)`, limit: null },
    { name: 'offboard.maxRequestsPerMessageGrowth10x', value: round(tenfold / onefold), unit: `ratio (a user in 10× ÷ 1× a plan step's ${step} apps)`, limit: { max: 1.1 } },
  ];
}

/**
 * p50 latencies of the all-tokens revocation call over fresh apps of each size (10 tokens per
 * user). All apps are seeded first and the calls alternate between sizes: DynamoDB Local's own
 * cost per request grows with the table, which must not read as growth with the app.
 */
async function callLatencyP50(sizes: Record<'small' | 'large', number>): Promise<Record<'small' | 'large', number>> {
  const labels = ['small', 'large'] as const;
  for (const label of labels) {
    for (let n = 0; n < LATENCY_APPS; n++) await seedApp(org, `latency-${label}-${n}`, sizes[label] / 10, 10);
  }
  const latencies = { small: [] as number[], large: [] as number[] };
  for (let n = 0; n < LATENCY_APPS; n++) {
    for (const label of labels) {
      const started = performance.now();
      const reply = await call('requestRevocation', { claims: as(org), path: { appId: `latency-${label}-${n}` }, json: { all: true } });
      latencies[label].push(performance.now() - started);
      if (reply.status !== 202) throw new Error(`revocation: ${reply.status} ${reply.text}`);
    }
  }
  const p50 = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;
  return { small: p50(latencies.small), large: p50(latencies.large) };
}

/** What the big revocation's requests show, as figures; `revocation.json` gets them by kind. */
async function figuresOf(run: Awaited<ReturnType<typeof revokeAppToTheEnd>>, users: number, writeResults: boolean) {
  const { tokens, firstKey, job, jobSeconds, callEnded, dynamoRequests, sqsRequests, floorWCUPerToken, maxRequestsPerMessage } = run;
  // What revoked tokens leave behind: one tombstone each (kept until the token's expiry; for good without one).
  const tombstone = (await db.send(new GetCommand({ TableName, Key: tokenKeys.token(org, firstKey as string), ConsistentRead: true }))).Item;
  if (tombstone?.entity !== 'TokenTombstone') throw new Error('a revoked token left no tombstone');
  const tombstoneBytes = itemSize(tombstone);
  const entries = dynamoRequests.entries();
  // Full calls: a step writes its tokens 25 at a time, so only one call of each step (queue message) may carry fewer: its remainder.
  const withRemainder = new Set<string>();
  // The due markers' own BatchWriteItem (one item, when the run crosses a due bucket) writes no token: it is not the cleanup's.
  const isMarker = (key: string) => key.split('|')[1]?.startsWith('BUCKET#') === true && key.split('|')[0]?.endsWith('#DUE') === true;
  const batchWrites = entries.filter((e) => e.command === 'BatchWriteItemCommand' && !(e.written.length > 0 && e.written.every(isMarker))).filter((e) => {
    if (e.batchSize === 25 || !e.messageId || withRemainder.has(deliveryOf(e))) return true;
    withRemainder.add(deliveryOf(e));
    return false;
  });
  const appCollection = `${appKeys.app(org, 'big').pk}|${appKeys.app(org, 'big').sk}`;
  const appWrites = entries.filter((e) => e.start >= callEnded).reduce((sum, e) => sum + e.written.filter((k) => k.startsWith(appCollection)).length, 0);
  const sendBatches = sqsRequests.count('SendMessageBatchCommand');
  // Where the worker's time goes, beside the deletes: requests by kind, and their modelled capacity.
  const byCommand: Record<string, { requests: number; items: number; rcu: number; wcu: number }> = {};
  for (const e of entries) {
    const c = (byCommand[e.command] ??= { requests: 0, items: 0, rcu: 0, wcu: 0 });
    c.requests += 1;
    c.items += e.items + e.batchSize;
    c.rcu += e.rcu;
    c.wcu += e.wcu;
  }
  if (writeResults) writeFileSync(new URL('../results/revocation.json', import.meta.url), `${JSON.stringify({ tokens, users, jobSeconds, plannedBatches: job.plannedBatches, maxRequestsPerMessage, dynamodb: byCommand, sqs: { SendMessageBatch: sendBatches } }, null, 2)}\n`);
  return {
    tokens, jobSeconds, floorWCUPerToken, maxRequestsPerMessage, modelledWCU: dynamoRequests.wcu(), tombstoneBytes, sendBatches,
    itemsPerBatchWrite: batchWrites.reduce((sum, e) => sum + e.batchSize, 0) / batchWrites.length,
    appWritesPerBatch: appWrites / job.plannedBatches,
  };
}

export async function measureRevocation(options: { users: number; perUser: number; queueUrl: string; sqsEndpoint: string; writeResults: boolean }): Promise<Metric[]> {
  const queue = { url: options.queueUrl, endpoint: options.sqsEndpoint };
  // The same revocation at a tenth of the size first: every message's work must stay bounded as the app grows.
  const tenth = await revokeAppToTheEnd('tenth', options.users / 10, options.perUser, queue).then(({ tokens, maxRequestsPerMessage }) => ({ tokens, maxRequestsPerMessage }));
  // Only figures are kept, so the run's request records are garbage before the bare loop runs.
  const { tokens, jobSeconds, floorWCUPerToken, maxRequestsPerMessage, modelledWCU, tombstoneBytes, itemsPerBatchWrite, appWritesPerBatch, sendBatches } =
    await revokeAppToTheEnd('big', options.users, options.perUser, queue).then((run) => figuresOf(run, options.users, options.writeResults));
  const workerTokensPerSecond = tokens / jobSeconds;

  // The floor's work on the same items, bare: the same number of tokens seeded again, each one's
  // tombstone written (what revoking it must leave) in full BatchWriteItem calls, with as many in
  // flight as the worker can have (invocations × records each × BatchWriteItem calls per record),
  // and under the same request recorder as the worker, so both pay for the bench's bookkeeping.
  const bareModel = new CapacityModel();
  const seeded: Record<string, unknown>[] = [];
  await seedApp(org, 'bare', options.users, options.perUser, { learn: (items) => {
    bareModel.learn(items);
    seeded.push(...items.filter((i) => i.entity === 'Token'));
  } });
  const at = new Date().toISOString();
  const bareRequests = recordRequests(dynamo, bareModel);
  const bareStarted = performance.now();
  await bareRequests.during(() => pMap(chunk(seeded, 25), async (part) => {
    let request: BatchWriteCommandInput['RequestItems'] = { [TableName]: part.map((item) => ({ PutRequest: { Item: tombstoneItem(toToken(item) as Token, at, null) } })) };
    while (request && Object.keys(request).length > 0) {
      const out: BatchWriteCommandOutput = await db.send(new BatchWriteCommand({ RequestItems: request }));
      request = out.UnprocessedItems;
    }
  }, { concurrency: WORKER_INVOCATIONS * RECORDS_PER_INVOCATION * BATCH_WRITE_CONCURRENCY }));
  const bareSeconds = (performance.now() - bareStarted) / 1000;
  bareRequests.dispose();
  const bareTokensPerSecond = tokens / bareSeconds;

  // The call itself is O(1): a watermark and the job, whatever the app holds.
  const { small: smallP50, large: largeP50 } = await callLatencyP50(LATENCY_SIZES);

  return [
    { name: 'revoke.itemsPerBatchWrite', value: round(itemsPerBatchWrite), unit: 'items (mean; each step\'s one call with its remainder aside)', limit: { min: 25 } },
    { name: 'revoke.sqsBatchesPer1000Tokens', value: round(sendBatches / (tokens / 1000)), unit: 'SendMessageBatch', limit: { max: 1 } },
    { name: 'revoke.appRowWritesPerWorkerBatch', value: round(appWritesPerBatch), unit: 'writes (app row and shards)', limit: { max: 1 } },
    { name: 'revoke.tombstoneBytes', value: tombstoneBytes, unit: 'bytes per revoked token (DynamoDB adds 100 per item to storage)', limit: null },
    { name: 'revoke.tombstoneGBPerMillionTokens', value: round(((tombstoneBytes + 100) * 1e6) / 1e9), unit: 'GB stored per million revoked tokens without an expiry', limit: null },
    { name: 'revoke.floorWCUPerToken', value: round(floorWCUPerToken), unit: 'WCU (each token item and its index entries deleted, each user row unlisted once)', limit: null },
    { name: 'revoke.modelledWCUPerToken', value: round(modelledWCU / tokens), unit: 'WCU (the call, every step, the final check)', limit: { max: round(1.1 * floorWCUPerToken) } },
    { name: 'revoke.tokensPerSecond', value: Math.round(workerTokensPerSecond), unit: `tokens/s (${tokens} tokens)`, limit: null },
    { name: 'revoke.bareBatchWriteTokensPerSecond', value: Math.round(bareTokensPerSecond), unit: 'tokens/s', limit: null },
    { name: 'revoke.throughputVsBareBatchWrite', value: round(workerTokensPerSecond / bareTokensPerSecond), unit: 'ratio', limit: { min: 0.8 } },
    { name: 'revoke.callP50Ms', value: round(largeP50), unit: `ms (all tokens, ${LATENCY_APPS} fresh apps of ${LATENCY_SIZES.large.toLocaleString('en')} tokens)`, limit: null },
    { name: 'revoke.callLatencyGrowth100x', value: round(largeP50 / smallP50), unit: `ratio (p50 at ${LATENCY_SIZES.large.toLocaleString('en')} ÷ at ${LATENCY_SIZES.small.toLocaleString('en')} tokens)`, limit: { max: 1.2 } },
    { name: 'revoke.maxRequestsPerMessage', value: maxRequestsPerMessage, unit: `DynamoDB requests (worst queue message, ${tokens.toLocaleString('en')} tokens)`, limit: null },
    { name: 'revoke.maxRequestsPerMessageGrowth10x', value: round(maxRequestsPerMessage / tenth.maxRequestsPerMessage), unit: `ratio (at ${tokens.toLocaleString('en')} ÷ at ${tenth.tokens.toLocaleString('en')} tokens)`, limit: { max: 1.1 } },
  ];
}
