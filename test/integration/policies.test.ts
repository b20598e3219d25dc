import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { copyScopesToShards } from '../../shared/db/migrations.js';
import { lambdaContext } from '../../local/event.js';
import { as, call, createApp, introspect, rawToken, register, type Reply } from '../support/api.js';
import { drainQueue, duplicateQueue } from '../support/queue.js';

/** The policies the service enforces itself: declared scopes, approved users, the session timeout. */
const org = 'org-policies';
const admin = as(org, { sub: 'admin@org-policies' });

const expectProblem = (reply: Reply, status: number, type: string, path?: string) => {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.body.type).toBe(`urn:oauth-usage:problem:${type}`);
  if (path) expect(reply.body.errors).toEqual([expect.objectContaining({ path })]);
};
const events = async (appId: string, action: string) =>
  ((await call('listAuditEvents', { claims: admin, query: { appId } })).body.items ?? []).filter((e) => e.action === action);
const access = (appId: string, userId: string, extra: Record<string, unknown> = {}) => ({ token: rawToken(), type: 'access', appId, userId, ...extra });

const injected: string[] = [];
afterEach(() => {
  for (const name of injected.splice(0)) dynamo.middlewareStack.remove(name);
});

describe('the app\'s declared scopes', () => {
  it('a scope the app does not declare: 400 scope-not-allowed naming it, after every 409 and 403; an app declaring none takes any', async () => {
    await createApp(org, 'scoped', { scopes: ['api', 'orders:read'] });
    expect((await register(org, access('scoped', 'ada', { scopes: ['api', 'orders:read'] }))).status).toBe(201);
    expectProblem(await register(org, access('scoped', 'ada', { scopes: ['api', 'admin'] })), 400, 'scope-not-allowed', 'body.scopes.1');
    const refresh = { token: rawToken('rt'), type: 'refresh', appId: 'scoped', userId: 'ada', scopes: ['api'] };
    const grant = await register(org, { tokens: [refresh, { ...access('scoped', 'ada', { scopes: ['admin'] }), refreshToken: refresh.token }] });
    expectProblem(grant, 400, 'scope-not-allowed', 'body.tokens.1.scopes.0');
    // A revoked token comes first.
    const revoked = access('scoped', 'ada', { scopes: ['admin'] });
    expect((await call('revoke', { claims: as(org), form: { token: revoked.token } })).status).toBe(200);
    expectProblem(await register(org, revoked), 409, 'token-revoked');

    await createApp(org, 'unscoped');
    expect((await register(org, access('unscoped', 'ada', { scopes: ['anything', 'at:all'] }))).status).toBe(201);
    // Declared later through the Settings tab: applies from then on.
    expect((await call('updateSettings', { claims: admin, path: { appId: 'unscoped' }, json: { scopes: ['api'] } })).status).toBe(200);
    expectProblem(await register(org, access('unscoped', 'ada', { scopes: ['anything'] })), 400, 'scope-not-allowed', 'body.scopes.0');
  });

  it('an app stored before scopes were on its shards is checked once the migration copied them', async () => {
    await createApp(org, 'older', { scopes: ['api'] });
    const shards = (await db.send(new ScanCommand({
      TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': 'older', ':e': 'AppShard' },
    }))).Items ?? [];
    for (const shard of shards) await db.send(new UpdateCommand({ TableName, Key: { pk: shard.pk, sk: shard.sk }, UpdateExpression: 'REMOVE scopes' }));
    expect((await register(org, access('older', 'ada', { scopes: ['admin'] }))).status).toBe(201); // what the older version allowed
    const report = await copyScopesToShards();
    expect(report).toMatchObject({ complete: true, updated: expect.any(Number) });
    expect(report.updated).toBeGreaterThanOrEqual(1);
    expectProblem(await register(org, access('older', 'ada', { scopes: ['admin'] })), 400, 'scope-not-allowed', 'body.scopes.0');
    expect((await copyScopesToShards()).updated).toBe(0);
  });
});

describe('the order of refusals', () => {
  it('parent-token-inactive before user-not-approved before scope-not-allowed, as the contract lists them', async () => {
    await createApp(org, 'ordered', { scopes: ['api'], policies: { permittedUsers: 'admin-approved-pre-authorized' } });
    // Everything wrong at once: a dead parent, an unapproved user, an undeclared scope.
    const deadParent = rawToken('never-registered-parent');
    const all = access('ordered', 'eve', { scopes: ['admin'], refreshToken: deadParent });
    expectProblem(await register(org, all), 409, 'parent-token-inactive', 'body.refreshToken');
    expectProblem(await register(org, access('ordered', 'eve', { scopes: ['admin'] })), 403, 'user-not-approved');
    expect((await call('approveUser', { claims: admin, path: { appId: 'ordered', userId: 'eve' } })).status).toBe(201);
    expectProblem(await register(org, access('ordered', 'eve', { scopes: ['admin'] })), 400, 'scope-not-allowed', 'body.scopes.0');
    expect((await register(org, access('ordered', 'eve', { scopes: ['api'] }))).status).toBe(201);
  });
});

describe('permittedUsers: admin-approved-pre-authorized', () => {
  it('only approved users are registered tokens; approving and withdrawing are audited and leave issued tokens alone', async () => {
    await createApp(org, 'approved-only', { policies: { permittedUsers: 'admin-approved-pre-authorized' } });
    expectProblem(await register(org, access('approved-only', 'ada')), 403, 'user-not-approved');
    const approve = () => call('approveUser', { claims: admin, path: { appId: 'approved-only', userId: 'ada' } });
    const first = await approve();
    expect(first.status, first.text).toBe(201);
    expect(first.body).toEqual({ userId: 'ada', approvedAt: expect.any(String), approvedBy: 'admin@org-policies' });
    expect((await approve()).status).toBe(200);
    expect((await approve()).body).toEqual(first.body);
    const listed = await call('listApprovedUsers', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'approved-only' } });
    expect(listed.body).toEqual({ items: [first.body], nextCursor: null });

    const token = access('approved-only', 'ada');
    expect((await register(org, token)).status).toBe(201);
    expectProblem(await register(org, access('approved-only', 'bob')), 403, 'user-not-approved');

    expect((await call('withdrawApproval', { claims: admin, path: { appId: 'approved-only', userId: 'ada' } })).status).toBe(204);
    expect((await call('withdrawApproval', { claims: admin, path: { appId: 'approved-only', userId: 'ada' } })).status).toBe(204);
    expectProblem(await register(org, access('approved-only', 'ada')), 403, 'user-not-approved');
    expect((await introspect(org, token.token)).body.active).toBe(true);
    expect((await register(org, token)).status).toBe(200); // a retry of what was registered while approved
    const changes = await events('approved-only', 'app.approved-users.changed');
    expect(changes.map((e) => [e.userId, (e.details as { approved: boolean }).approved])).toEqual([['ada', false], ['ada', true]]);

    expect((await call('approveUser', { claims: admin, path: { appId: 'missing', userId: 'ada' } })).status).toBe(404);
    expect((await call('listApprovedUsers', { claims: admin, path: { appId: 'missing' } })).status).toBe(404);
    expect((await call('approveUser', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'approved-only', userId: 'ada' } })).status).toBe(403);
  });

  it('a withdrawal that commits between the registration\'s read and its transaction wins: 403, nothing registered', async () => {
    await createApp(org, 'withdrawn', { policies: { permittedUsers: 'admin-approved-pre-authorized' } });
    expect((await call('approveUser', { claims: admin, path: { appId: 'withdrawn', userId: 'ada' } })).status).toBe(201);
    let raced = false;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      const items = (args.input as { TransactItems?: { Put?: { Item?: Record<string, unknown> } }[] }).TransactItems ?? [];
      if (!raced && context.commandName === 'TransactWriteItemsCommand' && items.some((i) => i.Put?.Item?.entity === 'Token')) {
        raced = true;
        expect((await call('withdrawApproval', { claims: admin, path: { appId: 'withdrawn', userId: 'ada' } })).status).toBe(204);
      }
      return next(args);
    }, { step: 'initialize', name: 'withdrawFirst' });
    injected.push('withdrawFirst');
    const token = access('withdrawn', 'ada');
    expectProblem(await register(org, token), 403, 'user-not-approved');
    expect(raced).toBe(true);
    expect((await introspect(org, token.token)).body).toEqual({ active: false });
  });
});

describe('sessionTimeoutMinutes: an idle timeout', () => {
  const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

  it('a token not introspected active for that long is inactive; each active introspection starts the timeout again', async () => {
    await createApp(org, 'idle', { policies: { sessionTimeoutMinutes: 2 } });
    const idle = access('idle', 'ada', { issuedAt: minutesAgo(3) });
    const fresh = access('idle', 'ada', { issuedAt: minutesAgo(1) });
    for (const t of [idle, fresh]) expect((await register(org, t)).status).toBe(201);
    expect((await introspect(org, idle.token)).body).toEqual({ active: false });
    const answer = (await introspect(org, fresh.token)).body;
    expect(answer.active).toBe(true);
    // The timeout runs from this use now: `exp` is two minutes on.
    expect(answer.exp as number).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 119);
  });

  it('the sweep removes idle tokens and audits policy.enforced; setting a timeout applies to the tokens already issued', async () => {
    await createApp(org, 'idle-sweep');
    const idle = access('idle-sweep', 'ada', { issuedAt: minutesAgo(10) });
    const used = access('idle-sweep', 'ada', { issuedAt: minutesAgo(10) });
    for (const t of [idle, used]) expect((await register(org, t)).status).toBe(201);
    expect((await introspect(org, used.token)).body.active).toBe(true);
    const policies = await call('replacePolicies', { claims: admin, path: { appId: 'idle-sweep' }, json: { sessionTimeoutMinutes: 5 } });
    expect(policies.status).toBe(200);
    expect((await introspect(org, idle.token)).body).toEqual({ active: false });
    expect((await introspect(org, used.token)).body.active).toBe(true);
    await drainQueue(); // the policy pass
    const { handler } = await import('../../functions/jobs/sweep.js');
    await handler({}, lambdaContext('sweep'));
    await drainQueue();
    const app = (await call('getApp', { claims: admin, path: { appId: 'idle-sweep' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([1, 1]);
    const enforced = await events('idle-sweep', 'policy.enforced');
    expect(enforced.reduce((n, e) => n + ((e.details as { idleTokensDeleted: number }).idleTokensDeleted ?? 0), 0)).toBe(1);
    // What the policy ended stays ended: the authorization server's retry of the same registration is refused.
    const retried = await register(org, { ...idle, issuedAt: undefined });
    expectProblem(retried, 409, 'token-revoked', 'body.token');
    expect((await introspect(org, idle.token)).body).toEqual({ active: false });
  });

  it('policy.enforced is written with the removal it reports: a crash at that write leaves both undone, and the redelivery does both once', async () => {
    await createApp(org, 'idle-atomic');
    const idle = access('idle-atomic', 'ada', { issuedAt: minutesAgo(10) });
    expect((await register(org, idle)).status).toBe(201);
    let crashed = false;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      const items = (args.input as { TransactItems?: { Put?: { Item?: Record<string, unknown> } }[] }).TransactItems ?? [];
      if (!crashed && context.commandName === 'TransactWriteItemsCommand' && items.some((i) => i.Put?.Item?.action === 'policy.enforced')) {
        crashed = true;
        throw Object.assign(new Error('injected crash'), { name: 'InjectedCrash' });
      }
      return next(args);
    }, { step: 'initialize', name: 'crashAtEnforcement' });
    injected.push('crashAtEnforcement');
    expect((await call('replacePolicies', { claims: admin, path: { appId: 'idle-atomic' }, json: { sessionTimeoutMinutes: 5 } })).status).toBe(200);
    await drainQueue({ retryFailedAtOnce: true }); // the policy pass, delivered again after the crash
    expect(crashed).toBe(true);
    const enforced = await events('idle-atomic', 'policy.enforced');
    expect(enforced).toEqual([expect.objectContaining({ userId: 'ada', details: expect.objectContaining({ idleTokensDeleted: 1, sessionTimeoutMinutes: 5 }) })]);
    const app = (await call('getApp', { claims: admin, path: { appId: 'idle-atomic' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });

  it('a refresh token timed out idle, then removed by the policy pass, cannot be registered again nor rotated from', async () => {
    await createApp(org, 'idle-refresh');
    const refresh = { token: rawToken('r'), type: 'refresh', appId: 'idle-refresh', userId: 'ada', issuedAt: minutesAgo(10) };
    expect((await register(org, refresh)).status).toBe(201);
    expect((await call('replacePolicies', { claims: admin, path: { appId: 'idle-refresh' }, json: { sessionTimeoutMinutes: 5 } })).status).toBe(200);
    expect((await introspect(org, refresh.token)).body).toEqual({ active: false });
    // Before the pass removes it a retry finds it as registered (200, still inactive); after, it is a tombstone (409).
    const before = await register(org, { ...refresh, issuedAt: undefined });
    expect(before.status, before.text).toBe(200);
    await drainQueue(); // the policy pass
    expectProblem(await register(org, { ...refresh, issuedAt: undefined }), 409, 'token-revoked', 'body.token');
    expect((await introspect(org, refresh.token)).body).toEqual({ active: false });
    const successor = { token: rawToken('r2'), type: 'refresh', appId: 'idle-refresh', userId: 'ada', previousRefreshToken: refresh.token };
    expect((await register(org, successor)).status).toBe(409);
    const app = (await call('getApp', { claims: admin, path: { appId: 'idle-refresh' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});

describe('a refresh token a policy ended', () => {
  it('still takes its grant when revoked: its access tokens end, by id and by RFC 7009', async () => {
    await createApp(org, 'ended-then-revoked');
    const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
    const grants = await Promise.all(['ada', 'bo'].map(async (userId) => {
      const refresh = rawToken('r');
      const accessToken = rawToken('a');
      const reply = await register(org, { tokens: [
        { token: refresh, type: 'refresh', appId: 'ended-then-revoked', userId, issuedAt: minutesAgo(10) },
        { token: accessToken, type: 'access', appId: 'ended-then-revoked', userId, refreshToken: refresh },
      ] });
      expect(reply.status, reply.text).toBe(201);
      return { userId, refresh, access: accessToken, refreshId: (reply.body.tokens as { tokenId: string }[])[0]!.tokenId };
    }));
    expect((await call('replacePolicies', { claims: admin, path: { appId: 'ended-then-revoked' }, json: { refreshTokenPolicy: { mode: 'expire-after', value: 5, unit: 'minutes' } } })).status).toBe(200);
    await drainQueue(); // the pass: each refresh token becomes a tombstone a policy left; its access token lives on
    for (const g of grants) {
      expect((await introspect(org, g.refresh)).body).toEqual({ active: false });
      expect((await introspect(org, g.access)).body.active).toBe(true);
    }
    const [byId, byRfc7009] = grants as [typeof grants[0], typeof grants[0]];
    expect((await call('revokeToken', { claims: admin, path: { appId: 'ended-then-revoked', userId: byId.userId, tokenId: byId.refreshId } })).status).toBe(204);
    expect((await call('revoke', { claims: as(org), form: { token: byRfc7009.refresh } })).status).toBe(200);
    for (const g of grants) expect((await introspect(org, g.access)).body).toEqual({ active: false });
    await drainQueue();
    const app = (await call('getApp', { claims: admin, path: { appId: 'ended-then-revoked' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});

describe('policy passes', () => {
  it('a later policy change ends the passes of the earlier ones: A, B, A again walk the users once', { timeout: 120_000 }, async () => {
    await createApp(org, 'alternating');
    const users = Array.from({ length: 201 }, (_, i) => `user-${String(i).padStart(3, '0')}`); // three pages of the pass (100, 100, 1)
    for (let i = 0; i < users.length; i += 25) {
      await Promise.all(users.slice(i, i + 25).map(async (userId) => expect((await register(org, { token: rawToken('r'), type: 'refresh', appId: 'alternating', userId })).status).toBe(201)));
    }
    const set = async (value: number) => expect((await call('replacePolicies', { claims: admin, path: { appId: 'alternating' }, json: { refreshTokenPolicy: { mode: 'expire-after', value, unit: 'days' } } })).status).toBe(200);
    await set(30);
    await set(20);
    await set(30);
    // The first pass stops at its first step (a newer one is current), the second too (its policy is gone),
    // the third walks the three pages.
    expect(await drainQueue()).toBe(5);
  });

  it('a step delivered twice does its page twice at most and never forks the pass: the pass still reaches every user', { timeout: 120_000 }, async () => {
    await createApp(org, 'duplicated');
    const users = Array.from({ length: 201 }, (_, i) => `user-${String(i).padStart(3, '0')}`); // three pages of the pass (100, 100, 1)
    const issuedAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
    for (let i = 0; i < users.length; i += 25) {
      await Promise.all(users.slice(i, i + 25).map(async (userId) => expect((await register(org, { token: rawToken('r'), type: 'refresh', appId: 'duplicated', userId, issuedAt })).status).toBe(201)));
    }
    expect((await call('replacePolicies', { claims: admin, path: { appId: 'duplicated' }, json: { refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' } } })).status).toBe(200);
    expect(await duplicateQueue()).toBe(1); // the pass's first step, delivered twice
    // Forked, each copy would walk all three pages (six messages); one chain is the two copies of
    // the first step, at most one successor that finds it lost, and the two steps after it.
    expect(await drainQueue()).toBeLessThanOrEqual(5);
    const app = (await call('getApp', { claims: admin, path: { appId: 'duplicated' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]); // every page purged: the pass did not stop either
  });

  it('a step whose delivery dies after naming its successor and before sending it sends it when delivered again: the pass reaches every user', { timeout: 120_000 }, async () => {
    await createApp(org, 'lost-successor');
    const users = Array.from({ length: 201 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    const issuedAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
    for (let i = 0; i < users.length; i += 25) {
      await Promise.all(users.slice(i, i + 25).map(async (userId) => expect((await register(org, { token: rawToken('r'), type: 'refresh', appId: 'lost-successor', userId, issuedAt })).status).toBe(201)));
    }
    const { queueClient } = await import('../../shared/queue.js');
    let lost = 0;
    queueClient.middlewareStack.add((next) => async (args) => {
      const entries = (args.input as { Entries?: { MessageBody?: string }[] }).Entries ?? [];
      if (lost === 0 && entries.some((e) => /"kind":"policy".*"cursor":\{/.test(e.MessageBody ?? ''))) {
        lost += 1;
        throw Object.assign(new Error('injected: the worker died before sending'), { name: 'InjectedCrash' });
      }
      return next(args);
    }, { step: 'initialize', name: 'loseSuccessor' });
    try {
      expect((await call('replacePolicies', { claims: admin, path: { appId: 'lost-successor' }, json: { refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' } } })).status).toBe(200);
      await drainQueue({ retryFailedAtOnce: true });
    } finally {
      queueClient.middlewareStack.remove('loseSuccessor');
    }
    expect(lost).toBe(1);
    const app = (await call('getApp', { claims: admin, path: { appId: 'lost-successor' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});

describe('accessTokenLifetimeMinutes: the cap on an access token\'s life', () => {
  it('a token the cap ended, removed by the sweep, is remembered: the AS\'s retry with its own later expiry is refused', async () => {
    await createApp(org, 'cap-ended', { policies: { accessTokenLifetimeMinutes: 5 } });
    const capped = access('cap-ended', 'ada', { issuedAt: new Date(Date.now() - 10 * 60_000).toISOString(), expiresAt: new Date(Date.now() + 2 * 3_600_000).toISOString() });
    expect((await register(org, capped)).status).toBe(201);
    expect((await introspect(org, capped.token)).body).toEqual({ active: false });
    // What the sweep does for this user's due token, run for it alone (other files' due tokens share the sweep).
    const { settleUserTokens } = await import('../../shared/domain/settlement.js');
    const { hasher } = await import('../../shared/domain/hasher.js');
    await settleUserTokens(org, 'cap-ended', 'ada', [hasher.digest(capped.token).lookupKey], Date.now());
    expectProblem(await register(org, { ...capped, issuedAt: undefined }), 409, 'token-revoked', 'body.token');
    expect((await introspect(org, capped.token)).body).toEqual({ active: false });
    const app = (await call('getApp', { claims: admin, path: { appId: 'cap-ended' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});

describe('an issuedAt ahead of the service\'s clock', () => {
  const minutesAhead = (n: number) => new Date(Date.now() + n * 60_000).toISOString();

  it('counts as now for every policy: expire-immediately, the access-token lifetime, the session timeout', async () => {
    await createApp(org, 'skewed', { policies: { refreshTokenPolicy: { mode: 'expire-immediately' }, accessTokenLifetimeMinutes: 1, sessionTimeoutMinutes: 2 } });
    const before = Date.now();
    const refresh = { token: rawToken('r'), type: 'refresh', appId: 'skewed', userId: 'ada', issuedAt: minutesAhead(4) };
    const registered = await register(org, refresh);
    expect(registered.status, registered.text).toBe(201);
    expect(Date.parse(registered.body.issuedAt as string)).toBeLessThanOrEqual(Date.now());
    expect((await introspect(org, refresh.token)).body).toEqual({ active: false });
    // An access token issued from it is refused: its refresh token is already expired.
    const child = await register(org, { token: rawToken(), type: 'access', appId: 'skewed', userId: 'ada', refreshToken: refresh.token, issuedAt: minutesAhead(4) });
    expectProblem(child, 409, 'parent-token-inactive', 'body.refreshToken');
    const lone = await register(org, { token: rawToken(), type: 'access', appId: 'skewed', userId: 'ada', issuedAt: minutesAhead(4) });
    expect(Date.parse(lone.body.expiresAt as string)).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(Date.parse(lone.body.expiresAt as string)).toBeGreaterThanOrEqual(before + 60_000);
  });
});
