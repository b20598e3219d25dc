import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { auditExportStep } from '../../shared/domain/audit-exports.js';
import { handleJobMessage } from '../../shared/domain/job-steps.js';
import { handleTokenMessage } from '../../shared/domain/settlement.js';
import { sweepOrg } from '../../shared/domain/sweep.js';
import { runInvocationHooks } from '../../shared/invocation-hooks.js';
import { logger } from '../../shared/logger.js';
import { isJobMessage, readQueueMessage } from '../../shared/queue-messages.js';

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

async function record(sqsRecord: SQSRecord): Promise<void> {
  // Which delivery of the message this is (1 the first time): a redelivery's lines say so.
  const receiveCount = Number(sqsRecord.attributes?.ApproximateReceiveCount) || undefined;
  return logger.within({ messageId: sqsRecord.messageId, receiveCount }, async () => {
    try {
      await handleRecord(sqsRecord, receiveCount ?? 1);
    } catch (error) {
      // Reported as failed, it returns to the queue (and reaches the DLQ after the queue's maxReceiveCount).
      logger.error('Queue message failed; it will be delivered again', { error });
      throw error;
    }
  });
}

async function handleRecord(sqsRecord: SQSRecord, receiveCount: number): Promise<void> {
  const redelivered = receiveCount > 1;
  const parsed = readQueueMessage(parseJson(sqsRecord.body));
  if ('issues' in parsed) {
    // A message no code of ours sends: drop it (retrying cannot help) but say so.
    logger.error('Dropping a malformed queue message', { messageId: sqsRecord.messageId, issues: parsed.issues });
    return;
  }
  const { message } = parsed;
  const now = Date.now();
  await logger.within({ orgId: message.orgId, jobId: 'jobId' in message ? message.jobId : undefined }, async () => {
    if (message.kind === 'sweep-org') await sweepOrg(message, now);
    else if (message.kind === 'audit-export') await auditExportStep(message, now, { receiveCount });
    else if (isJobMessage(message)) await handleJobMessage(message, now, { messageId: sqsRecord.messageId, redelivered });
    else await handleTokenMessage(message, now, { redelivered });
  });
}

/**
 * The queue worker, on the work queue and the sweep queue: each SQS record is one step of a
 * revocation job or of an audit export, tokens to settle, or (from the sweep queue) one org's round of the sweep; failures
 * are reported per record. A processor per invocation (it holds the batch's results), so
 * invocations may overlap in one process, as the local poller and the bench run them.
 */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  logger.invocation(context, async () => {
    await runInvocationHooks();
    return processPartialResponse(event, record, new BatchProcessor(EventType.SQS), { context });
  });
