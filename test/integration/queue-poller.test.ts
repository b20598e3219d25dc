import { describe, expect, it } from 'vitest';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { LOCAL_WORKER_INVOCATIONS, startQueuePoller } from '../../local/queue-poller.js';
import { dropQueue } from '../support/queue.js';

const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1' });
const queueUrl = process.env.QUEUE_URL as string;

/**
 * The local server's poller runs batches the way Lambda's event source does: several at once, so
 * a long job step does not hold up every other message.
 */
describe('the local queue poller', () => {
  it(`runs ${LOCAL_WORKER_INVOCATIONS} invocations at once and deletes what they handled`, async () => {
    const messages = LOCAL_WORKER_INVOCATIONS * 10;
    for (let batch = 0; batch < LOCAL_WORKER_INVOCATIONS; batch++) {
      await sqs.send(new SendMessageBatchCommand({
        QueueUrl: queueUrl, Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify({ n: batch * 10 + i }) })),
      }));
    }
    let inFlight = 0;
    let mostInFlight = 0;
    const handled = new Set<string>();
    let allOverlapping!: () => void;
    const overlapping = new Promise<void>((resolve) => { allOverlapping = resolve; });
    // Each invocation holds its batch until as many invocations as the poller promises are running
    // (or 5 s have passed, when they never will): a poller that runs them one by one shows 1.
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (inFlight === LOCAL_WORKER_INVOCATIONS) allOverlapping();
      await Promise.race([overlapping, new Promise((resolve) => setTimeout(resolve, 5000))]);
      for (const record of event.Records) handled.add(record.body);
      inFlight--;
      return { batchItemFailures: [] };
    };

    const poller = startQueuePoller(sqs, queueUrl, handler, (error) => { throw error; });
    try {
      await expect.poll(() => handled.size, { timeout: 15_000 }).toBe(messages);
    } finally {
      await poller.stop();
    }

    expect(mostInFlight).toBe(LOCAL_WORKER_INVOCATIONS);
    expect(await dropQueue()).toBe(0); // every handled message was deleted
  });
});
