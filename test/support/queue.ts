import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { drainQueue as drain, pollOnce } from '../../local/queue-poller.js';
import type { RoundReport } from '../../shared/domain/sweep.js';
import type { SweepOrgMessage } from '../../shared/queue-messages.js';

const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1' });

/**
 * Runs the real worker handler on this test file's queues (the sweep's rounds first, then the
 * work queue) until both are empty: the work every revocation job and sweep leaves behind, done
 * synchronously (no sleeps). Returns the messages handled.
 */
export async function drainQueue(options: { retryFailedAtOnce?: boolean; invocations?: number } = {}): Promise<number> {
  const { handler } = await import('../../functions/worker/queue-worker.js');
  let handled = 0;
  for (;;) {
    const rounds = await drain(sqs, process.env.SWEEP_QUEUE_URL as string, handler, options);
    const work = await drain(sqs, process.env.QUEUE_URL as string, handler, options);
    handled += rounds + work;
    if (rounds + work === 0) return handled;
  }
}

/**
 * Runs the sweep's rounds waiting on the sweep queue (and the rounds they send on) until there are
 * none (`once`: one receive's worth), leaving the work they hand out on the work queue; what they did, summed.
 */
export async function runSweepRounds({ once = false } = {}): Promise<RoundReport> {
  const { sweepOrg } = await import('../../shared/domain/sweep.js');
  const total: RoundReport = { jobsStarted: 0, jobsResumed: 0, jobsFailed: 0, jobsReleased: 0, exportsResumed: 0, exportsFailed: 0, entriesRepaired: 0, tokensDue: 0, markersDeleted: 0 };
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: process.env.SWEEP_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return total;
    for (const m of Messages) {
      const report = await sweepOrg(JSON.parse(String(m.Body)) as SweepOrgMessage, Date.now());
      for (const key of Object.keys(total) as (keyof RoundReport)[]) total[key] += report[key];
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: process.env.SWEEP_QUEUE_URL, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    if (once) return total;
  }
}

/** Receives and deletes every message on the queue without handling it: work lost (a crash, the DLQ). Returns how many. */
export async function dropQueue(): Promise<number> {
  let dropped = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: process.env.QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return dropped;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: process.env.QUEUE_URL, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    dropped += Messages.length;
  }
}

/** Puts every message on the queue there twice (SQS delivers at least once: a duplicate). Returns how many it doubled. */
export async function duplicateQueue(): Promise<number> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: process.env.QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) break;
    bodies.push(...Messages.map((m) => String(m.Body)));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: process.env.QUEUE_URL, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
  for (const body of bodies) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: process.env.QUEUE_URL, Entries: [{ Id: 'a', MessageBody: body }, { Id: 'b', MessageBody: body }] }));
  }
  return bodies.length;
}

/** Every message on the queue, read and left there (visible again at once): what is waiting to be done. */
export async function peekQueue(): Promise<Record<string, unknown>[]> {
  const seen: { body: string; receipt: string }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: process.env.QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    if (Messages.length === 0) break;
    seen.push(...Messages.map((m) => ({ body: String(m.Body), receipt: String(m.ReceiptHandle) })));
  }
  for (let i = 0; i < seen.length; i += 10) {
    await sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: process.env.QUEUE_URL, Entries: seen.slice(i, i + 10).map((m, n) => ({ Id: String(n), ReceiptHandle: m.receipt, VisibilityTimeout: 0 })),
    }));
  }
  return seen.map((m) => JSON.parse(m.body) as Record<string, unknown>);
}

/** Handles one receive's worth of messages (up to 10, or `maxMessages`) and leaves the rest on the queue. */
export async function pollQueueOnce(maxMessages = 10): Promise<number> {
  const { handler } = await import('../../functions/worker/queue-worker.js');
  return pollOnce(sqs, process.env.QUEUE_URL as string, handler, 0, { maxMessages });
}
