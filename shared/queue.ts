import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { config } from './config.js';
import { backoff } from './retry.js';
import type { QueueMessage } from './schemas/revocations.js';

/** One client per container, reused across invocations (exported for instrumentation: the benchmark counts its requests). */
export const queueClient = new SQSClient({ region: config.region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });

/** Sends messages to the revocation queue in SendMessageBatch calls of 10, retrying failed entries. */
export async function enqueue(messages: QueueMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    let entries = messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
    for (let attempt = 0; entries.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      if (attempt > 8) throw new Error(`Could not enqueue ${entries.length} revocation messages`);
      const out = await queueClient.send(new SendMessageBatchCommand({ QueueUrl: config.queueUrl, Entries: entries }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
    }
  }
}
