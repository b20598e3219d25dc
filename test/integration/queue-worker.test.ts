import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SQSRecord } from 'aws-lambda';
import { lambdaContext } from '../../local/event.js';
import { dynamo } from '../../shared/db/client.js';
import { captureLogLines } from '../support/logs.js';

/**
 * Lambda's event source runs several batches at once, and the local poller and the bench run
 * them in one process: each invocation must report its own failures and log its own request id.
 */
const failingOrg = 'org-worker-down';
const slowOrg = 'org-worker-slow';
const record = (messageId: string, orgId: string): SQSRecord => ({
  messageId, body: JSON.stringify({ kind: 'plan', orgId, jobId: 'job_00mx1zsvrl88f1d4ac24ad', pass: 0 }), attributes: { ApproximateReceiveCount: '3' },
} as SQSRecord);

afterEach(() => {
  vi.restoreAllMocks();
  dynamo.middlewareStack.remove('failOneOrg');
});

describe('overlapping worker invocations', () => {
  it('each report exactly their own failed records and log their own request id', async () => {
    const { handler } = await import('../../functions/worker/queue-worker.js');
    // Every request for one org fails; another org's requests are slow, so the second invocation ends after the first one's failure.
    dynamo.middlewareStack.add((next) => async (args) => {
      const input = JSON.stringify(args.input);
      await new Promise((resolve) => setTimeout(resolve, input.includes(slowOrg) ? 1500 : 20));
      if (input.includes(failingOrg)) throw Object.assign(new Error('Internal server error'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      return next(args);
    }, { step: 'finalizeRequest', name: 'failOneOrg', priority: 'low' });
    const { lines } = captureLogLines();

    const failing = lambdaContext('revocation-worker');
    const healthy = lambdaContext('revocation-worker');
    const [failed, succeeded] = await Promise.all([
      handler({ Records: [record('a-1', failingOrg), record('a-2', 'org-worker-up')] }, failing),
      new Promise((resolve) => setTimeout(resolve, 10)).then(() => handler({ Records: [record('b-1', slowOrg), { messageId: 'b-2', body: '{' } as SQSRecord] }, healthy)),
    ]);

    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: 'a-1' }]);
    expect(succeeded.batchItemFailures).toEqual([]);
    expect(lines.find((l) => l.messageId === 'b-2')).toMatchObject({ message: 'Dropping a malformed queue message', requestId: healthy.awsRequestId });
    const failureLines = lines.filter((l) => l.messageId === 'a-1');
    expect(failureLines.length).toBeGreaterThan(0);
    expect(failureLines.every((l) => l.requestId === failing.awsRequestId && l.receiveCount === 3)).toBe(true);
  });
});
