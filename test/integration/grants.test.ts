import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { as, call, createApp, rawToken, register, type Reply } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

/**
 * Grants and refresh-token rotation, driven the way an authorization server does it: a code
 * exchange and each refresh grant in one call, parents by raw value, retries, refresh tokens
 * presented again, and revocations racing all of it.
 */
const org = 'org-grants';
const asServer = as(org, { sub: 'as@org-grants', scope: 'tokens:write tokens:introspect' });
const asResourceServer = as(org, { sub: 'api@org-grants', scope: 'tokens:introspect' });

/**
 * Asked as the authorization server, which is shown refresh tokens too (a resource server never
 * is). Never for a rotated-out refresh token of a live grant: the AS presenting one is reuse.
 */
const isActive = async (raw: string) => (await call('introspect', { claims: asServer, form: { token: raw } })).body.active === true;
const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return [body.userCount, body.activeTokenCount];
};
const tokensOf = async (appId: string, userId: string) => (await call('listUserTokens', { claims: as(org), path: { appId, userId } })).body.items ?? [];
const events = async (appId: string) => (await call('listAuditEvents', { claims: as(org), query: { appId } })).body.items ?? [];
const expectProblem = (reply: Reply, status: number, type: string, path?: string) => {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.body.type).toBe(`urn:oauth-usage:problem:${type}`);
  if (path) expect(reply.body.errors).toEqual([expect.objectContaining({ path })]);
};

/** What an authorization server sends: a code exchange, then refresh grants that rotate. */
function grantOf(appId: string, userId: string) {
  const member = (type: string, extra: Record<string, unknown> = {}) => ({ token: rawToken(type), type, appId, userId, ...extra });
  return {
    codeExchange() {
      const refresh = member('refresh');
      const access = member('access', { refreshToken: refresh.token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      return { refresh: refresh.token, access: access.token, body: { tokens: [refresh, access] } };
    },
    refresh(previous: string) {
      const refresh = member('refresh', { previousRefreshToken: previous });
      const access = member('access', { refreshToken: refresh.token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      return { refresh: refresh.token, access: access.token, body: { tokens: [refresh, access] } };
    },
  };
}

/** An app with one grant of ada's: its code exchange, then one refresh grant that rotated it. */
async function rotatedOnce(appId: string, extra: Record<string, unknown> = {}) {
  await createApp(org, appId, extra);
  const grant = grantOf(appId, 'ada');
  const code = grant.codeExchange();
  expect((await register(org, code.body)).status).toBe(201);
  const next = grant.refresh(code.refresh);
  expect((await register(org, next.body)).status).toBe(201);
  return { grant, code, next };
}

const injected: string[] = [];
afterEach(() => {
  for (const name of injected.splice(0)) dynamo.middlewareStack.remove(name);
});

describe('a grant in one call per grant', () => {
  it('a code exchange and two rotating refreshes: one call each, retries answer 200, counts are the tokens live at the AS', async () => {
    await createApp(org, 'rotate');
    const grant = grantOf('rotate', 'ada');
    const code = grant.codeExchange();
    const first = await register(org, code.body);
    expect(first.status, first.text).toBe(201);
    const registered = first.body.tokens as Record<string, unknown>[];
    expect(registered.map((t) => t.type)).toEqual(['refresh', 'access']);
    expect(await counts('rotate')).toEqual([1, 2]);

    const second = grant.refresh(code.refresh);
    expect((await register(org, second.body)).status).toBe(201);
    const retried = await register(org, second.body);
    expect(retried.status, retried.text).toBe(200);
    const third = grant.refresh(second.refresh);
    expect((await register(org, third.body)).status).toBe(201);

    // Rotated out: uncounted (inactive, as the reuse cases below show); the access tokens issued
    // from them live until they expire.
    for (const raw of [code.access, second.access, third.access]) expect(await isActive(raw)).toBe(true);
    expect(await isActive(third.refresh)).toBe(true);
    expect(await counts('rotate')).toEqual([1, 4]);
    const users = (await call('listAppUsers', { claims: as(org), path: { appId: 'rotate' } })).body.items ?? [];
    expect(users.map((u) => [u.userId, u.activeTokenCount])).toEqual([['ada', 4]]);

    // A user's tokens: one grant, the current refresh token, the retired ones (marked) and every access token.
    const listed = await tokensOf('rotate', 'ada');
    expect(new Set(listed.map((t) => t.grantId))).toEqual(new Set([registered[0]!.tokenId]));
    expect(listed.filter((t) => t.type === 'refresh' && t.retiredAt === null)).toHaveLength(1);
    expect(listed.filter((t) => t.retiredAt !== null)).toHaveLength(2);
    expect(listed.filter((t) => t.type === 'access')).toHaveLength(3);
  });

  it('is all or nothing, names a member\'s field by its place, and refuses what no grant call can mean', async () => {
    await createApp(org, 'members');
    const refresh = { token: rawToken('r'), type: 'refresh', appId: 'members', userId: 'ada' };
    const dead = await register(org, { tokens: [refresh, { token: rawToken('a'), type: 'access', appId: 'members', userId: 'ada', refreshTokenId: 'AAAAAAAAAAAAAAAAAAAAAA' }] });
    expectProblem(dead, 409, 'parent-token-inactive', 'body.tokens.1.refreshTokenId');
    expect(await isActive(refresh.token)).toBe(false); // nothing of the call was registered
    expect(await counts('members')).toEqual([0, 0]);

    const later = await register(org, { tokens: [{ token: rawToken('a'), type: 'access', appId: 'members', userId: 'ada', refreshToken: refresh.token }, refresh] });
    expectProblem(later, 400, 'validation-error', 'body.tokens.0.refreshToken');
    const twoRefresh = await register(org, { tokens: [refresh, { ...refresh, token: rawToken('r') }] });
    expectProblem(twoRefresh, 400, 'validation-error', 'body.tokens.1.type');
    const otherUser = await register(org, { tokens: [refresh, { token: rawToken('a'), type: 'access', appId: 'members', userId: 'bob' }] });
    expectProblem(otherUser, 400, 'validation-error', 'body.tokens.1.userId');
    const misplaced = await register(org, { ...refresh, refreshTokenId: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expectProblem(misplaced, 400, 'validation-error', 'body.refreshTokenId');
    const tooMany = await register(org, { tokens: Array.from({ length: 11 }, () => ({ token: rawToken('a'), type: 'access', appId: 'members', userId: 'ada' })) });
    expectProblem(tooMany, 400, 'validation-error', 'body.tokens');

    // A retry that adds a member: 201, the registered one unchanged.
    const once = await register(org, { tokens: [refresh] });
    expect(once.status).toBe(201);
    const access = { token: rawToken('a'), type: 'access', appId: 'members', userId: 'ada', refreshToken: refresh.token };
    const mixed = await register(org, { tokens: [refresh, access] });
    expect(mixed.status, mixed.text).toBe(201);
    expect((mixed.body.tokens as Record<string, unknown>[])[0]).toEqual((once.body.tokens as Record<string, unknown>[])[0]);
    expect(await counts('members')).toEqual([1, 2]);
  });
});

describe('no revocation is escaped by a rotation', () => {
  it('the AS checked the refresh token, the admin revoked the user, then the rotation: 409 parent-token-inactive, nothing active', async () => {
    await createApp(org, 'escape');
    const grant = grantOf('escape', 'ada');
    const code = grant.codeExchange();
    expect((await register(org, code.body)).status).toBe(201);
    expect((await call('introspect', { claims: asServer, form: { token: code.refresh } })).body.active).toBe(true);
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'escape', userId: 'ada' } })).status).toBe(202);
    const next = grant.refresh(code.refresh);
    expectProblem(await register(org, next.body), 409, 'parent-token-inactive', 'body.tokens.0.previousRefreshToken');
    for (const raw of [next.refresh, next.access, code.refresh, code.access]) expect(await isActive(raw)).toBe(false);
    expect((await call('listAppUsers', { claims: as(org), path: { appId: 'escape' } })).body.items).toEqual([]);
    // A dead parent named alone, by id: the same problem, naming that field.
    const single = await register(org, { token: rawToken('a'), type: 'access', appId: 'escape', userId: 'ada', refreshToken: code.refresh });
    expectProblem(single, 409, 'parent-token-inactive', 'body.refreshToken');
  });

  it('a revocation that commits between the rotation\'s reads and its transaction wins: 409, and the new tokens were never active', async () => {
    await createApp(org, 'race');
    const grant = grantOf('race', 'ada');
    const code = grant.codeExchange();
    const registered = await register(org, code.body);
    const refreshId = (registered.body.tokens as Record<string, unknown>[])[0]!.tokenId as string;
    let raced = false;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      const items = (args.input as { TransactItems?: { Put?: { Item?: Record<string, unknown> } }[] }).TransactItems ?? [];
      if (!raced && context.commandName === 'TransactWriteItemsCommand' && items.filter((i) => i.Put?.Item?.entity === 'Token').length === 2) {
        raced = true; // the rotation's transaction, about to be sent: the admin's DELETE goes first
        const revoked = await call('revokeToken', { claims: as(org), path: { appId: 'race', userId: 'ada', tokenId: refreshId } });
        expect(revoked.status).toBe(204);
      }
      return next(args);
    }, { step: 'initialize', name: 'revokeFirst' });
    injected.push('revokeFirst');
    const next = grant.refresh(code.refresh);
    const reply = await register(org, next.body);
    expect(raced).toBe(true);
    expectProblem(reply, 409, 'parent-token-inactive', 'body.tokens.0.previousRefreshToken');
    for (const raw of [next.refresh, next.access, code.refresh, code.access]) expect(await isActive(raw)).toBe(false);
    expect(await counts('race')).toEqual([0, 0]);
  });

  it('revoking a rotated-out refresh token revokes the whole grant, at once and after the cleanup', async () => {
    await createApp(org, 'retired');
    const grant = grantOf('retired', 'ada');
    const code = grant.codeExchange();
    const firstId = ((await register(org, code.body)).body.tokens as Record<string, unknown>[])[0]!.tokenId as string;
    const next = grant.refresh(code.refresh);
    expect((await register(org, next.body)).status).toBe(201);
    const other = grantOf('retired', 'ada').codeExchange();
    expect((await register(org, other.body)).status).toBe(201);
    expect(await counts('retired')).toEqual([1, 5]);

    expect((await call('revokeToken', { claims: as(org), path: { appId: 'retired', userId: 'ada', tokenId: firstId } })).status).toBe(204);
    for (const raw of [next.refresh, next.access, code.access]) expect(await isActive(raw)).toBe(false);
    expect(await counts('retired')).toEqual([1, 2]); // the other grant stays
    expect(await isActive(other.refresh)).toBe(true);
    await drainQueue();
    const left = (await db.send(new ScanCommand({
      TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': 'retired', ':e': 'Token' },
    }))).Items ?? [];
    expect(left).toHaveLength(2);
    expectProblem(await register(org, next.body), 409, 'token-revoked');
  });
});

describe('refresh-token reuse (RFC 9700 §4.14.2)', () => {
  it('a rotated-out refresh token named again as a predecessor: 409 refresh-token-reused, the grant revoked, audited', async () => {
    const { grant, code, next: legit } = await rotatedOnce('reuse');
    const thief = grant.refresh(code.refresh);
    expectProblem(await register(org, thief.body), 409, 'refresh-token-reused', 'body.tokens.0.previousRefreshToken');
    for (const raw of [legit.refresh, legit.access, code.access, thief.refresh]) expect(await isActive(raw)).toBe(false);
    expect(await counts('reuse')).toEqual([0, 0]);
    const revoked = (await events('reuse')).filter((e) => e.action === 'grant.revoked');
    expect(revoked).toEqual([expect.objectContaining({ actor: expect.objectContaining({ kind: 'system' }), userId: 'ada', details: expect.objectContaining({ reason: 'refresh-token-reused' }) })]);
    // The legitimate holder's next refresh fails too.
    expectProblem(await register(org, grant.refresh(legit.refresh).body), 409, 'parent-token-inactive');
  });

  it('a rotated-out refresh token introspected by the AS revokes the grant; by a resource server it is only inactive', async () => {
    const { code, next } = await rotatedOnce('reuse-seen');
    expect((await call('introspect', { claims: asResourceServer, form: { token: code.refresh } })).body).toEqual({ active: false });
    expect(await isActive(next.refresh)).toBe(true);
    expect((await call('introspect', { claims: asServer, form: { token: code.refresh } })).body).toEqual({ active: false });
    for (const raw of [next.refresh, next.access, code.access]) expect(await isActive(raw)).toBe(false);
    expect(await counts('reuse-seen')).toEqual([0, 0]);
    expect((await events('reuse-seen')).filter((e) => e.action === 'grant.revoked')).toHaveLength(1);
  });

  it('within refreshTokenReuseGraceSeconds a retired token is refused but revokes nothing', async () => {
    await createApp(org, 'grace', { policies: { refreshTokenReuseGraceSeconds: 30 } });
    expect((await call('getApp', { claims: as(org), path: { appId: 'grace' } })).body.policies).toMatchObject({ refreshTokenReuseGraceSeconds: 30 });
    const grant = grantOf('grace', 'ada');
    const code = grant.codeExchange();
    expect((await register(org, code.body)).status).toBe(201);
    const tabA = grant.refresh(code.refresh);
    expect((await register(org, tabA.body)).status).toBe(201);
    const tabB = grant.refresh(code.refresh);
    expectProblem(await register(org, tabB.body), 409, 'parent-token-inactive', 'body.tokens.0.previousRefreshToken');
    expect((await call('introspect', { claims: asServer, form: { token: code.refresh } })).body).toEqual({ active: false });
    expect(await isActive(tabA.refresh)).toBe(true);
    expect(await counts('grace')).toEqual([1, 3]);
    const outOfRange = await call('replacePolicies', { claims: as(org), path: { appId: 'grace' }, json: { refreshTokenReuseGraceSeconds: 61 } });
    expectProblem(outOfRange, 400, 'validation-error', 'body.refreshTokenReuseGraceSeconds');
  });
});

describe('what the review of grants found', () => {
  it('with no grace, a second successor is reuse even when its request started before the first one\'s', async () => {
    await createApp(org, 'interleaved');
    const grant = grantOf('interleaved', 'ada');
    const code = grant.codeExchange();
    expect((await register(org, code.body)).status).toBe(201);
    const startedFirst = Date.now();
    expect((await register(org, grant.refresh(code.refresh).body)).status).toBe(201);
    const { registerTokens } = await import('../../shared/domain/tokens.js');
    const late = grant.refresh(code.refresh).body.tokens;
    await expect(registerTokens(org, late as never, (n) => `body.tokens.${n}`, startedFirst - 1000)).rejects.toMatchObject({ type: 'refresh-token-reused' });
    expect(await counts('interleaved')).toEqual([0, 0]);
  });

  it('a retried rotation naming another predecessor is not a retry: 409', async () => {
    await createApp(org, 'retry-other');
    const grant = grantOf('retry-other', 'ada');
    const code = grant.codeExchange();
    expect((await register(org, code.body)).status).toBe(201);
    const next = grant.refresh(code.refresh);
    expect((await register(org, next.body)).status).toBe(201);
    const other = grantOf('retry-other', 'ada').codeExchange();
    expect((await register(org, other.body)).status).toBe(201);
    const [refresh] = next.body.tokens as unknown as [Record<string, unknown>];
    expectProblem(await register(org, { tokens: [{ ...refresh, previousRefreshToken: other.refresh }] }), 409, 'conflict');
    expect(await isActive(other.access)).toBe(true);
  });

  it('an introspection whose use-write finds the token revoked answers inactive', async () => {
    await createApp(org, 'use-write');
    const raw = rawToken('a');
    const tokenId = (await register(org, { token: raw, type: 'access', appId: 'use-write', userId: 'ada' })).body.tokenId as string;
    let revokedFirst = false;
    dynamo.middlewareStack.add((next, context) => async (args) => {
      if (!revokedFirst && context.commandName === 'UpdateItemCommand' && JSON.stringify(args.input).includes('useCount')) {
        revokedFirst = true; // the use is about to be written: the admin's DELETE commits first
        expect((await call('revokeToken', { claims: as(org), path: { appId: 'use-write', userId: 'ada', tokenId } })).status).toBe(204);
      }
      return next(args);
    }, { step: 'initialize', name: 'revokeBeforeUse' });
    injected.push('revokeBeforeUse');
    expect((await call('introspect', { claims: asResourceServer, form: { token: raw } })).body).toEqual({ active: false });
    expect(revokedFirst).toBe(true);
  });
});

describe('RFC 7009 before the registration', () => {
  it('is remembered: the registration from a retrying outbox is 409 token-revoked, alone or in a grant; audited with the AS as actor', async () => {
    await createApp(org, 'early');
    const grant = grantOf('early', 'ada');
    const code = grant.codeExchange();
    expect((await call('revoke', { claims: asServer, form: { token: code.refresh } })).status).toBe(200);
    expectProblem(await register(org, code.body), 409, 'token-revoked', 'body.tokens.0.token');
    expect(await isActive(code.access)).toBe(false); // all or nothing
    const alone = { token: rawToken('a'), type: 'access', appId: 'early', userId: 'ada' };
    expect((await call('revoke', { claims: asServer, form: { token: alone.token } })).status).toBe(200);
    expect((await call('revoke', { claims: asServer, form: { token: alone.token } })).status).toBe(200); // again: nothing new
    expectProblem(await register(org, alone), 409, 'token-revoked', 'body.token');
    expect(await counts('early')).toEqual([0, 0]);

    const audit = (await call('listAuditEvents', { claims: as(org) })).body.items ?? [];
    const early = audit.filter((e) => e.action === 'token.revoked' && e.actor && (e.actor as Record<string, unknown>).sub === 'as@org-grants');
    expect(early).toHaveLength(2);
    expect(early[0]).toMatchObject({ actor: { kind: 'client' }, appId: null, details: { registered: false } });
  });

  it('RFC 7009 of registered tokens is audited with the revocation: token.revoked via rfc7009 by the client, once per value, for an access token and for a refresh token with its grant', async () => {
    await createApp(org, 'audited-7009');
    const refresh = { token: rawToken('r'), type: 'refresh', appId: 'audited-7009', userId: 'ada' };
    const fromIt = { token: rawToken('a'), type: 'access', appId: 'audited-7009', userId: 'ada', refreshToken: refresh.token };
    const alone = { token: rawToken('a'), type: 'access', appId: 'audited-7009', userId: 'bob' };
    const grant = await register(org, { tokens: [refresh, fromIt] });
    const single = await register(org, alone);
    expect([grant.status, single.status]).toEqual([201, 201]);
    for (const token of [refresh.token, alone.token, alone.token]) expect((await call('revoke', { claims: asServer, form: { token } })).status).toBe(200);
    expect(await isActive(fromIt.token)).toBe(false);
    const revoked = (await events('audited-7009')).filter((e) => e.action === 'token.revoked');
    const [refreshId, , aloneId] = [...(grant.body.tokens as { tokenId: string }[]).map((t) => t.tokenId), single.body.tokenId];
    expect(revoked.map((e) => [e.tokenId, e.actor, (e.details as { via?: string }).via]).sort()).toEqual([
      [aloneId, { sub: 'as@org-grants', kind: 'client' }, 'rfc7009'],
      [refreshId, { sub: 'as@org-grants', kind: 'client' }, 'rfc7009'],
    ].sort());
  });

  it('racing its registration, a revocation that answered 200 is never followed by an active token', async () => {
    await createApp(org, 'racing');
    const values = Array.from({ length: 24 }, () => rawToken('race'));
    const outcomes = await Promise.all(values.map(async (token) => {
      const [registered, revoked] = await Promise.all([
        register(org, { token, type: 'access', appId: 'racing', userId: 'ada' }),
        call('revoke', { claims: asServer, form: { token } }),
      ]);
      expect(revoked.status).toBe(200);
      expect([201, 409]).toContain(registered.status);
      if (registered.status === 409) expect(registered.body.type).toBe('urn:oauth-usage:problem:token-revoked');
      expect(await isActive(token), token).toBe(false);
      return registered.status;
    }));
    expect(outcomes.length).toBe(24);
    expect(await counts('racing')).toEqual([0, 0]);
  });

  it('token-revoked comes before parent-token-inactive when both apply', async () => {
    await createApp(org, 'order');
    const revoked = { token: rawToken('r'), type: 'refresh', appId: 'order', userId: 'ada', previousRefreshToken: rawToken('never-registered') };
    expect((await call('revoke', { claims: asServer, form: { token: revoked.token } })).status).toBe(200);
    expectProblem(await register(org, revoked), 409, 'token-revoked');
  });
});
