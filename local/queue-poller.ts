import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { workerDelivery } from '../shared/worker-delivery.js';
import { lambdaContext } from './event.js';

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * What Lambda's SQS event source does: receive up to a batch of messages (`workerDelivery`), hand them to the worker as
 * one SQS event, delete those it did not report as failed. Failed ones come back after the
 * visibility timeout (and reach the DLQ after maxReceiveCount). Returns how many were received.
 */
export async function pollOnce(sqs: SQSClient, queueUrl: string, handler: SqsHandler, waitSeconds: number, options: { retryFailedAtOnce?: boolean; maxMessages?: number } = {}): Promise<number> {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: queueUrl, MaxNumberOfMessages: options.maxMessages ?? workerDelivery.batchSize, WaitTimeSeconds: waitSeconds, VisibilityTimeout: workerDelivery.visibilityTimeoutSeconds, MessageSystemAttributeNames: ['All'],
  }));
  if (Messages.length === 0) return 0;
  const event: SQSEvent = {
    Records: Messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${queueUrl.split('/').pop() ?? 'queue'}`,
      awsRegion: 'local',
    })),
  };
  // A failed invocation (the handler threw, e.g. every record failed) returns every message to the queue, as in Lambda.
  const failures = await handler(event, lambdaContext('revocation-worker', workerDelivery.timeoutSeconds * 1000)).then(
    (response) => response.batchItemFailures.map((f) => f.itemIdentifier),
    () => Messages.map((m) => m.MessageId ?? ''),
  );
  const failed = new Set(failures);
  const done = Messages.filter((m) => !failed.has(m.MessageId ?? ''));
  const retry = Messages.filter((m) => failed.has(m.MessageId ?? ''));
  if (options.retryFailedAtOnce && retry.length) {
    // Tests: make failed messages visible again now instead of after the visibility timeout.
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: retry.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })) }));
  }
  if (done.length) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
  return Messages.length;
}

/**
 * Runs the worker until the queue is empty and no invocation is running: `invocations` at once, as
 * Lambda's event source runs several batches concurrently (up to the worker's maxConcurrency).
 * The queue counts as empty only when a receive that began after the last invocation ended (and
 * so after everything it enqueued) finds nothing. Returns the messages received.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string, handler: SqsHandler, options: { invocations?: number; retryFailedAtOnce?: boolean } = {}): Promise<number> {
  let running = 0;
  let ended = 0;
  let received = 0;
  const invoke: SqsHandler = async (event, context) => {
    running++;
    try {
      return await handler(event, context);
    } finally {
      running--;
      ended++;
    }
  };
  await Promise.all(Array.from({ length: options.invocations ?? 1 }, async () => {
    for (;;) {
      const endedBefore = ended;
      const count = await pollOnce(sqs, queueUrl, invoke, 0, { retryFailedAtOnce: options.retryFailedAtOnce });
      received += count;
      if (count > 0) continue;
      if (running === 0 && ended === endedBefore) return;
      await new Promise((resolve) => setTimeout(resolve, 10)); // another invocation may still enqueue work
    }
  }));
  return received;
}

/**
 * Worker invocations at once, locally (the local server, the bench). Lambda's event source runs
 * several batches concurrently (up to the worker's maxConcurrency, 10 deployed); two let one
 * invocation's reads, and its wait for its slowest record, overlap another's writes, which is
 * what keeps DynamoDB Local busy on a small machine. More are no faster there.
 */
export const LOCAL_WORKER_INVOCATIONS = 2;

/** Polls until stopped, as the event source mapping would: `invocations` batches at once. */
export function startQueuePoller(sqs: SQSClient, queueUrl: string, handler: SqsHandler, onError: (error: unknown) => void, invocations = LOCAL_WORKER_INVOCATIONS) {
  let running = true;
  const poll = async () => {
    while (running) {
      try {
        await pollOnce(sqs, queueUrl, handler, 1);
      } catch (error) {
        onError(error);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const loops = Promise.all(Array.from({ length: invocations }, poll));
  return { stop: async () => { running = false; await loops; } };
}
