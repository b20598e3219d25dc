import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { epoch, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';
import { drainQueue } from '../support/queue.js';

/** Block / Unblock an app (contract section 5): every token ends at once, and none is taken until the unblock. */
const org = 'org-app-block';
const admin = as(org);
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
});
afterAll(async () => idp.close());

interface BlockAnswer { status: number; text: string; headers: Record<string, string>; body: { app: Record<string, unknown>; job: { jobId: string } & Record<string, unknown> } }
const block = async (appId: string, options: { key?: string; reason?: string } = {}) => (await call('blockApp', {
  claims: admin, path: { appId }, ...(options.reason ? { json: { reason: options.reason } } : {}), headers: options.key ? { 'idempotency-key': options.key } : {},
})) as unknown as BlockAnswer;
const unblock = async (appId: string) => (await call('unblockApp', { claims: admin, path: { appId } })) as unknown as BlockAnswer;
const detail = async (appId: string) => (await call('getApp', { claims: admin, path: { appId } })).body;
const actions = async (appId: string) => ((await call('listAuditEvents', { claims: admin, query: { appId } })).body.items as { action: string; jobId: string | null; reason: string | null }[]);
const active = async (token: string) => (await introspect(org, token)).body.active;

describe('POST /v1/apps/{appId}/block', () => {
  it('revokes every token at once (users\' and the client\'s), refuses registrations with 409 app-blocked, and shows blocked; a second block changes nothing', async () => {
    await createApp(org, 'vendor');
    const [ada, client] = [rawToken('ada'), rawToken('cc')];
    expect((await register(org, { token: ada, type: 'access', appId: 'vendor', userId: 'ada' })).status).toBe(201);
    expect((await register(org, { token: client, type: 'access', appId: 'vendor' })).status).toBe(201);

    const blocked = await block('vendor', { reason: 'Vendor contract ended', key: 'block-1' });
    expect(blocked.status, blocked.text).toBe(202);
    expect(blocked.headers.location).toBe(`/v1/revocation-jobs/${blocked.body.job.jobId}`);
    expect(blocked.body.app).toMatchObject({ appId: 'vendor', blocked: true, userCount: 0, activeTokenCount: 0 });
    expect(blocked.body.job).toMatchObject({ appId: 'vendor', target: { all: true }, status: 'queued', reason: 'Vendor contract ended' });
    expect([await active(ada), await active(client)]).toEqual([false, false]);

    const refused = await register(org, { token: rawToken('new'), type: 'access', appId: 'vendor', userId: 'bob' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('urn:oauth-usage:problem:app-blocked');
    // A revoked token retried is token-revoked first (the contract's order of refusals).
    expect((await register(org, { token: ada, type: 'access', appId: 'vendor', userId: 'ada' })).body.type).toBe('urn:oauth-usage:problem:token-revoked');

    expect(await detail('vendor')).toMatchObject({ blocked: true });
    const listed = (await call('listApps', { claims: admin, query: { all: 'true' } })).body.items as { appId: string; blocked: boolean }[];
    expect(listed.find((a) => a.appId === 'vendor')).toMatchObject({ blocked: true });
    expect(((await call('listApps', { claims: admin })).body.items as { appId: string }[]).map((a) => a.appId)).not.toContain('vendor');

    // The same key answers the same job; without one, a blocked app answers 200 and nothing new.
    const retried = await block('vendor', { reason: 'Vendor contract ended', key: 'block-1' });
    expect([retried.status, retried.body.job.jobId]).toEqual([202, blocked.body.job.jobId]);
    const again = await block('vendor');
    expect([again.status, again.body.job, again.body.app.blocked]).toEqual([200, null, true]);

    await drainQueue();
    const job = await call('getRevocationJob', { claims: admin, path: { jobId: blocked.body.job.jobId } });
    expect(job.body).toMatchObject({ status: 'succeeded', progress: { usersDone: 1, tokensRevoked: 2 } });
    const events = await actions('vendor');
    expect(events.filter((e) => e.action === 'app.blocked')).toEqual([expect.objectContaining({ jobId: blocked.body.job.jobId, reason: 'Vendor contract ended' })]);
    expect(events.filter((e) => e.action === 'revocation.requested')).toHaveLength(1);
  });

  it('racing registrations: no token registered before the block\'s 202 is active after it, and every one after is refused', async () => {
    await createApp(org, 'raced');
    const tokens = Array.from({ length: 24 }, (_, n) => rawToken(`race-${n}`));
    const registering = tokens.map((token, n) => register(org, { token, type: 'access', appId: 'raced', userId: `u${n % 4}` }));
    const blocked = await block('raced');
    const answers = await Promise.all(registering);
    expect(blocked.status).toBe(202);
    expect(answers.every((a) => a.status === 201 || (a.status === 409 && a.body.type === 'urn:oauth-usage:problem:app-blocked'))).toBe(true);
    for (const token of tokens) expect(await active(token)).toBe(false);
    const late = await Promise.all(Array.from({ length: 4 }, (_, n) => register(org, { token: rawToken('late'), type: 'access', appId: 'raced', userId: `u${n}` })));
    expect(late.map((a) => a.status)).toEqual([409, 409, 409, 409]);
    await drainQueue();
    expect(await detail('raced')).toMatchObject({ userCount: 0, activeTokenCount: 0, blocked: true });
  });

  it('is not refused by the per-app limit: with 25 cleanups in progress the tokens end at once and the cleanup waits for a slot', async () => {
    await createApp(org, 'busy');
    const token = rawToken('busy');
    expect((await register(org, { token, type: 'access', appId: 'busy', userId: 'ada' })).status).toBe(201);
    for (let n = 0; n < 25; n++) {
      expect((await call('requestRevocation', { claims: admin, path: { appId: 'busy' }, json: { userIds: [`nobody-${n}`] } })).status).toBe(202);
    }
    expect((await call('requestRevocation', { claims: admin, path: { appId: 'busy' }, json: { all: true } })).status).toBe(429);
    const blocked = await block('busy');
    expect(blocked.status, blocked.text).toBe(202);
    expect(await active(token)).toBe(false);
    expect((await register(org, { token: rawToken('busy'), type: 'access', appId: 'busy', userId: 'bob' })).status).toBe(409);
  });
});

describe('POST /v1/apps/{appId}/unblock', () => {
  it('takes registrations again; what the block revoked stays revoked, JWTs of a trusted issuer issued while blocked too; audited once', async () => {
    const issuerId = 'block-okta';
    const trusted = await call('trustIssuer', { claims: admin, path: { issuerId }, json: { issuer: idp.issuer(issuerId), jwksUri: idp.jwksUri(issuerId), preset: 'okta', audiences: ['api://default'] } });
    expect(trusted.status, trusted.text).toBe(201);
    const t0 = Date.now();
    const at = (seconds: number) => vi.setSystemTime(t0 + seconds * 1000);
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    try {
      await createApp(org, '0oa1blocked');
      const old = rawToken('old');
      expect((await register(org, { token: old, type: 'access', appId: '0oa1blocked', userId: 'ada' })).status).toBe(201);
      expect((await block('0oa1blocked')).status).toBe(202);

      const jwt = (jti: string) => idp.sign({ ver: 1, jti, iss: idp.issuer(issuerId), aud: 'api://default', iat: epoch(), exp: epoch(3600), cid: '0oa1blocked', uid: '00u1ada', scp: ['orders:read'], sub: 'ada@example.com' });
      at(120); // well past the block and the issuer's 60 s of trusted skew
      const whileBlocked = await jwt('AT.while-blocked');
      expect(await active(whileBlocked)).toBe(false); // a blocked app learns nothing

      at(180);
      const unblocked = await unblock('0oa1blocked');
      expect(unblocked.status, unblocked.text).toBe(200);
      expect(unblocked.body.app).toMatchObject({ blocked: false });
      expect(await detail('0oa1blocked')).toMatchObject({ blocked: false });
      expect((await unblock('0oa1blocked')).status).toBe(200);
      expect((await actions('0oa1blocked')).filter((e) => e.action === 'app.unblocked')).toHaveLength(1);

      const fresh = rawToken('fresh');
      expect((await register(org, { token: fresh, type: 'access', appId: '0oa1blocked', userId: 'ada' })).status).toBe(201);
      expect(await active(fresh)).toBe(true);
      expect(await active(old)).toBe(false);
      expect((await register(org, { token: old, type: 'access', appId: '0oa1blocked', userId: 'ada' })).status).toBe(409);
      // Issued while it was blocked, first seen after: still inactive (the time watermark moved to the unblock).
      at(200);
      expect(await active(whileBlocked)).toBe(false);
      // Issued more than 60 s after the unblock: learned.
      at(300);
      expect(await active(await jwt('AT.after-unblock'))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers 404 for an app of no one, and an unblocked app is not blocked by unblocking it', async () => {
    expect((await unblock('nope')).status).toBe(404);
    expect((await block('nope')).status).toBe(404);
    await createApp(org, 'never-blocked');
    const answer = await unblock('never-blocked');
    expect([answer.status, answer.body.app.blocked]).toEqual([200, false]);
    expect((await actions('never-blocked')).map((e) => e.action)).toEqual(['app.created']);
  });
});
