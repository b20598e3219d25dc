import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { handleMessage } from '../../shared/domain/cleanup.js';
import { logger } from '../../shared/logger.js';
import { queueMessageSchema } from '../../shared/schemas/revocations.js';

const processor = new BatchProcessor(EventType.SQS);

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

async function record(message: SQSRecord): Promise<void> {
  const parsed = queueMessageSchema.safeParse(parseJson(message.body));
  if (!parsed.success) {
    // A message no code of ours sends: drop it (retrying cannot help) but say so.
    logger.error('Dropping a malformed revocation message', { messageId: message.messageId, issues: parsed.error.issues });
    return;
  }
  await handleMessage(parsed.data, Date.now);
}

/** The revocation worker: each SQS record is one step of a job; failures are reported per record. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context });
