import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { chunk } from './chunk.js';
import { config } from './config.js';
import { retrying, RETRY } from './retry.js';
import type { QueueMessage } from './queue-messages.js';

/** One client per container, reused across invocations (exported for instrumentation: the benchmark counts its requests). */
export const queueClient = new SQSClient({ region: config.region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });

/** Sends messages to the queue in SendMessageBatch calls of 10, sending failed entries again. */
export async function enqueue(messages: QueueMessage[]): Promise<void> {
  for (const part of chunk(messages, 10)) {
    let entries = part.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
    await retrying(async () => {
      const out = await queueClient.send(new SendMessageBatchCommand({ QueueUrl: config.queueUrl, Entries: entries }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
      return entries.length > 0 ? RETRY : undefined;
    }, () => new Error(`Could not enqueue ${entries.length} queue messages`));
  }
}
