import { SQSClient } from '@aws-sdk/client-sqs';
import { pollOnce } from '../../local/queue-poller.js';

const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1' });

/**
 * Runs the real worker handler on this test file's queue until the queue is empty: the work
 * every revocation job leaves behind, done synchronously (no sleeps). Returns the messages handled.
 */
export async function drainQueue(options: { retryFailedAtOnce?: boolean } = {}): Promise<number> {
  const { handler } = await import('../../functions/worker/revocations.js');
  let handled = 0;
  for (;;) {
    const received = await pollOnce(sqs, process.env.QUEUE_URL as string, handler, 0, options);
    if (received === 0) return handled;
    handled += received;
  }
}
