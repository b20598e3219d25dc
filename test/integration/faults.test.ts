import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const org = 'org-faults';
const injected = { throttled: 0, unprocessed: 0 };
let active = false;
let calls = 0;

/**
 * Faults DynamoDB really produces, injected into the real client: every fourth BatchWriteItem and
 * Query fails with ProvisionedThroughputExceededException (inside the SDK's retry loop, so some
 * are retried by the SDK and some reach our code), and every BatchWriteItem that gets through
 * writes only half its items and returns the rest as UnprocessedItems.
 */
beforeAll(() => {
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      if (active && ['BatchWriteItemCommand', 'QueryCommand'].includes(String(context.commandName)) && ++calls % 4 === 0) {
        injected.throttled++;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
          name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 }, $fault: 'client',
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'injectThrottling', priority: 'low' },
  );
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { RequestItems?: Record<string, unknown[]> };
      if (!active || context.commandName !== 'BatchWriteItemCommand' || !input.RequestItems) return next(args);
      const [[table, requests = []] = []] = Object.entries(input.RequestItems);
      if (!table || requests.length < 2) return next(args);
      const half = Math.ceil(requests.length / 2);
      const result = await next({ ...args, input: { ...input, RequestItems: { [table]: requests.slice(0, half) } } });
      injected.unprocessed += requests.length - half;
      (result.output as { UnprocessedItems?: unknown }).UnprocessedItems = { [table]: requests.slice(half) };
      return result;
    },
    { step: 'initialize', name: 'injectUnprocessedItems' },
  );
});

afterAll(() => {
  dynamo.middlewareStack.remove('injectThrottling');
  dynamo.middlewareStack.remove('injectUnprocessedItems');
});

describe('revocation under throttling and unprocessed items', () => {
  it('loses nothing: the job ends succeeded, every token gone, counts exact', { timeout: 120_000 }, async () => {
    await createApp(org, 'bumpy');
    const raws: string[] = [];
    for (let i = 0; i < 120; i++) {
      const raw = rawToken('bumpy');
      raws.push(raw);
      await register(org, { token: raw, type: 'access', appId: 'bumpy', userId: `user-${i % 15}` });
    }
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'bumpy' }, json: { all: true } });
    expect(reply.status).toBe(202);

    active = true;
    try {
      await drainQueue({ retryFailedAtOnce: true });
    } finally {
      active = false;
    }
    expect(injected.throttled).toBeGreaterThan(5);
    expect(injected.unprocessed).toBeGreaterThan(50);

    const job = (await call('getRevocationJob', { claims: as(org), path: { jobId: reply.body.jobId as string } })).body;
    expect(job).toMatchObject({ status: 'succeeded', progress: { usersDone: 15 } });
    const left = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND entity = :e', ExpressionAttributeValues: { ':o': org, ':e': 'Token' } }))).Items ?? [];
    expect(left).toEqual([]);
    const app = (await call('getApp', { claims: as(org), path: { appId: 'bumpy' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'bumpy' } })).body.items;
    expect(users).toEqual([]);
    for (const raw of raws.slice(0, 20)) expect((await introspect(org, raw)).body).toEqual({ active: false });
  });
});
