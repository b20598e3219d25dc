import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { chunk } from './chunk.js';
import { config } from './config.js';
import { retrying, RETRY } from './retry.js';
import type { QueueMessage } from './queue-messages.js';

/** One client per container, reused across invocations (exported for instrumentation: the benchmark counts its requests). */
export const queueClient = new SQSClient({ region: config.region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });

/**
 * Sends messages in SendMessageBatch calls of 10 (visible after `delaySeconds`, if given), sending failed entries again: the sweep's
 * rounds to the sweep queue (where nothing else waits, so no backlog of work delays an org's
 * round), everything else to the work queue.
 */
export async function enqueue(messages: QueueMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
  const rounds = messages.filter((m) => m.kind === 'sweep-org');
  const work = messages.filter((m) => m.kind !== 'sweep-org');
  if (rounds.length) await send(config.sweepQueueUrl, rounds, options);
  if (work.length) await send(config.queueUrl, work, options);
}

async function send(queueUrl: string, messages: QueueMessage[], { delaySeconds }: { delaySeconds?: number }): Promise<void> {
  for (const part of chunk(messages, 10)) {
    let entries = part.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m), ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}) }));
    await retrying(async () => {
      const out = await queueClient.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
      return entries.length > 0 ? RETRY : undefined;
    }, () => new Error(`Could not enqueue ${entries.length} queue messages`));
  }
}
