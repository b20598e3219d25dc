import { afterEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/event.js';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';
import { captureLogLines } from '../support/logs.js';

/** Every log line of a request or a queue message carries its request id, org and (for jobs) job id. */
const org = 'org-logs';
afterEach(() => {
  vi.restoreAllMocks();
  dynamo.middlewareStack.remove('conflictOnce');
});

describe('log lines', () => {
  it('of an HTTP request carry the Lambda request id, the API request id and the org', async () => {
    await createApp(org, 'logged');
    const raw = rawToken('logs');
    await register(org, { token: raw, type: 'access', appId: 'logged', userId: 'ada' });
    let conflicts = 0;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand' && conflicts++ === 0) {
        throw Object.assign(new Error('Transaction is ongoing'), { name: 'TransactionConflictException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    }, { step: 'finalizeRequest', name: 'conflictOnce', priority: 'low' });
    const captured = captureLogLines().lines;
    expect((await call('introspect', { claims: as(org), form: { token: raw } })).body.active).toBe(true);
    const line = captured.find((l) => l.message === 'retrying a DynamoDB request after a transaction conflict');
    expect(line).toMatchObject({ orgId: org, requestId: expect.any(String), apiRequestId: expect.any(String) });
  });

  it('of a queue message carry the invocation\'s request id and the message id, even before the message is understood', async () => {
    const { handler } = await import('../../functions/worker/queue-worker.js');
    const captured = captureLogLines().lines;
    const context = lambdaContext('revocation-worker');
    await handler({ Records: [{ messageId: 'm-1', body: '{"kind":"plan","orgId":"org-logs"}' } as never] }, context);
    expect(captured.find((l) => l.message === 'Dropping a malformed queue message')).toMatchObject({ requestId: context.awsRequestId, messageId: 'm-1' });
  });
});
