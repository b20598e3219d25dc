import { afterEach, describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/db/client.js';
import { handleTokenMessage } from '../../shared/domain/settlement.js';
import { MAX_ATTEMPTS } from '../../shared/retry.js';
import { as, call, createApp, rawToken, register, type Reply } from '../support/api.js';
import { dropQueue } from '../support/queue.js';

const org = 'org-app-changes';
const HOUR = 3_600_000;

const getApp = (appId: string) => call('getApp', { claims: as(org), path: { appId } });
const actions = async (appId: string) => ((await call('listAuditEvents', { claims: as(org), query: { appId } })).body.items ?? []).map((e) => e.action);

/**
 * Concurrent transactions do not conflict on DynamoDB Local (it reported no TransactionConflict
 * under hundreds of concurrent registrations and changes), so what happens between a change's
 * read and its commit is staged here: before each send of a settings or policies change (the
 * transaction that pins the app row's version), `interpose` runs and says whether that send goes
 * through or is cancelled as DynamoDB cancels a transaction that met another one on an item.
 */
let interpose: (() => Promise<'send' | 'conflict'>) | undefined;
const isAppChange = (input: unknown) =>
  (input as { TransactItems?: { Update?: { ConditionExpression?: string } }[] }).TransactItems?.[0]?.Update?.ConditionExpression === 'version = :expected';

dynamo.middlewareStack.add((next, context) => async (args) => {
  if (!interpose || context.commandName !== 'TransactWriteItemsCommand' || !isAppChange(args.input)) return next(args);
  if ((await interpose()) === 'send') return next(args);
  // The first shard's write met a registration's transaction; nothing was written.
  const reasons = (args.input as { TransactItems: unknown[] }).TransactItems.map((_, i) => ({ Code: i === 1 ? 'TransactionConflict' : 'None' }));
  throw Object.assign(new Error(`Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`), {
    name: 'TransactionCanceledException', CancellationReasons: reasons, $fault: 'client', $metadata: { httpStatusCode: 400 },
  });
}, { step: 'finalizeRequest', name: 'interposeAppChanges', priority: 'low' });

afterEach(() => {
  interpose = undefined;
});

describe('a settings or policies change with a current If-Match', () => {
  const changes: [string, (appId: string, etag: string) => Promise<Reply>][] = [
    ['PATCH (a new name, copied onto every shard)', (appId, etag) => call('updateSettings', { claims: as(org), path: { appId }, json: { name: 'Renamed' }, headers: { 'if-match': etag } })],
    ['PUT policies', (appId, etag) => call('replacePolicies', { claims: as(org), path: { appId }, json: { sessionTimeoutMinutes: 30 }, headers: { 'if-match': etag } })],
  ];

  it.each(changes.map(([name, change], i) => [name, `busy-${i}`, change] as const))(
    '%s is applied (200), not refused as stale, when its transaction only met registrations on the app’s shards',
    async (_, appId, change) => {
      await createApp(org, appId);
      const { headers } = await getApp(appId);
      // A busy app: a registration commits before each send, and every send the client makes
      // (it retries conflicts itself, MAX_ATTEMPTS times) meets another one in progress.
      let sends = 0;
      interpose = async () => {
        if (sends++ >= MAX_ATTEMPTS) return 'send';
        expect((await register(org, { token: rawToken(), type: 'access', appId, userId: `user-${sends}` })).status).toBe(201);
        return 'conflict';
      };
      const reply = await change(appId, headers.etag as string);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.etag).toBe('"v2"');
      expect(reply.body.activeTokenCount).toBe(MAX_ATTEMPTS);
      expect(await actions(appId)).toEqual([expect.stringMatching(/^app\.(settings|policies)\.updated$/), 'app.created']);
    },
  );

  it.each(changes.map(([name, change], i) => [name, `moved-${i}`, change] as const))(
    '%s still answers 412 when another change commits between its read and its write',
    async (_, appId, change) => {
      await createApp(org, appId);
      const { headers } = await getApp(appId);
      interpose = async () => {
        interpose = undefined;
        expect((await call('updateSettings', { claims: as(org), path: { appId }, json: { description: 'theirs' } })).status).toBe(200);
        return 'send';
      };
      const reply = await change(appId, headers.etag as string);
      expect(reply.status, reply.text).toBe(412);
      expect((await getApp(appId)).body).toMatchObject({ name: `App ${appId}`, description: 'theirs', policies: { sessionTimeoutMinutes: null } });
    },
  );
});

describe('a change to the same values', () => {
  it('PUT of the policies the app already has (in any key order) changes nothing: same ETag, no event', async () => {
    const policies = {
      sessionTimeoutMinutes: 15, permittedUsers: 'admin-approved-pre-authorized', ipRelaxation: 'relax-for-refresh',
      accessTokenLifetimeMinutes: 60, refreshTokenPolicy: { unit: 'days', value: 7, mode: 'expire-if-unused' },
    };
    await createApp(org, 'same-policies');
    const first = await call('replacePolicies', { claims: as(org), path: { appId: 'same-policies' }, json: policies });
    expect(first.status).toBe(200);
    const reordered = Object.fromEntries(Object.entries(policies).reverse());
    const again = await call('replacePolicies', { claims: as(org), path: { appId: 'same-policies' }, json: reordered, headers: { 'if-match': first.headers.etag as string } });
    expect(again.status, again.text).toBe(200);
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.body).toEqual(first.body);
    expect(await actions('same-policies')).toEqual(['app.policies.updated', 'app.created']);
  });

  it('a policy pass runs when the app’s refresh-token policy equals the pass’s in another key order', async () => {
    await createApp(org, 'passed');
    await register(org, { token: rawToken(), type: 'refresh', appId: 'passed', userId: 'ada' });
    const policy = { mode: 'expire-after', value: 1, unit: 'hours' } as const;
    expect((await call('replacePolicies', { claims: as(org), path: { appId: 'passed' }, json: { refreshTokenPolicy: policy } })).status).toBe(200);
    await dropQueue(); // the pass it started: run below with the policy's keys in another order
    // DynamoDB keeps no map's key order (DynamoDB Local happens to give this one back as written).
    await handleTokenMessage({ kind: 'policy', orgId: org, appId: 'passed', policy: { unit: policy.unit, value: policy.value, mode: policy.mode }, cursor: null }, Date.now() + 2 * HOUR);
    expect((await getApp('passed')).body.activeTokenCount).toBe(0);
    expect(await actions('passed')).toContain('policy.enforced');
  });
});
