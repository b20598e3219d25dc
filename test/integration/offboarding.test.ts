import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJobWrite } from '../../shared/db/job.js';
import { getOrgUser, offboardWrite } from '../../shared/db/org-user.js';
import { commit } from '../../shared/db/unit-of-work.js';
import { newJobId } from '../../shared/ids.js';
import { reconcile } from '../../shared/domain/reconcile.js';
import { sendPlan, stallCheckAt } from '../../shared/domain/revocations.js';
import { OFFBOARDING_APP_ID, type RevocationJob } from '../../shared/model.js';
import { iso } from '../../shared/time.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { epoch, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';
import { drainQueue } from '../support/queue.js';

/** Offboarding (contract section 5): POST /v1/users/{userId}/revocations, every token of the user in every app. */
const org = 'org-offboarding';
const admin = as(org);
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
});
afterAll(async () => idp.close());

type Job = { jobId: string; appId: string | null; status: string; progress: Record<string, number> } & Record<string, unknown>;
const offboard = async (userId: string, json: Record<string, unknown> = {}, key?: string) => call('offboardUser', {
  claims: admin, path: { userId }, json, headers: key ? { 'idempotency-key': key } : {},
});
const active = async (token: string) => (await introspect(org, token)).body.active as boolean;
const job = async (jobId: string) => (await call('getRevocationJob', { claims: admin, path: { jobId } })).body as Job;
const counts = async (appId: string) => {
  const { userCount, activeTokenCount } = (await call('getApp', { claims: admin, path: { appId } })).body;
  return { userCount, activeTokenCount };
};
const usersOf = async (appId: string) => ((await call('listAppUsers', { claims: admin, path: { appId } })).body.items as { userId: string }[]).map((u) => u.userId);
const appsOf = async (userId: string) => ((await call('listUserApps', { claims: admin, path: { userId } })).body.items as { appId: string }[]).map((a) => a.appId);
/** Counts equal the items: the reconciler, reading every user's tokens, finds no drift. */
const exact = async (appId: string) => {
  const report = await reconcile(org, appId, { repair: false });
  return { userDrift: report?.userDrift, appDrift: report?.appDrift };
};
const noDrift = { userDrift: [], appDrift: { userCount: [expect.any(Number), expect.any(Number)], activeTokenCount: [expect.any(Number), expect.any(Number)] } };
const sameCounts = (drift: Awaited<ReturnType<typeof exact>>) => drift.appDrift && drift.appDrift.userCount[0] === drift.appDrift.userCount[1] && drift.appDrift.activeTokenCount[0] === drift.appDrift.activeTokenCount[1];

describe('POST /v1/users/{userId}/revocations', () => {
  it('revokes the user\'s tokens in every app at once, leaves everyone else, and ends exact, while they register in a fourth app', async () => {
    for (const appId of ['mail', 'crm', 'wiki', 'chat']) await createApp(org, appId);
    const ada: Record<string, string[]> = { mail: [rawToken('m1'), rawToken('m2')], crm: [rawToken('c1')], wiki: [rawToken('w1'), rawToken('w2'), rawToken('w3')] };
    for (const [appId, tokens] of Object.entries(ada)) {
      for (const token of tokens) expect((await register(org, { token, type: 'access', appId, userId: 'ada', userName: 'Ada Lovelace' })).status).toBe(201);
    }
    // A grant: the refresh token and its access token go together.
    const [refresh, access] = [rawToken('r'), rawToken('a')];
    expect((await register(org, { tokens: [{ token: refresh, type: 'refresh', appId: 'crm', userId: 'ada' }, { token: access, type: 'access', appId: 'crm', userId: 'ada', refreshToken: refresh }] })).status).toBe(201);
    const bob = rawToken('bob');
    expect((await register(org, { token: bob, type: 'access', appId: 'mail', userId: 'bob' })).status).toBe(201);

    const preview = await offboard('ada', { dryRun: true });
    expect([preview.status, preview.body]).toEqual([200, { appsAffected: 3, tokensAffected: 8 }]);
    expect(await active(ada.mail?.[0] as string)).toBe(true); // a dry run changes nothing

    // Registrations in a fourth app race the call; those started after its answer must stay active.
    const racing = Array.from({ length: 8 }, () => rawToken('race'));
    const during = Promise.all(racing.map((token) => register(org, { token, type: 'access', appId: 'chat', userId: 'ada' })));
    const reply = await offboard('ada', { reason: 'Left the company' }, 'offboard-ada');
    expect(reply.status, reply.text).toBe(202);
    const answered = reply.body as Job;
    expect(reply.headers.location).toBe(`/v1/revocation-jobs/${answered.jobId}`);
    expect(answered).toMatchObject({ appId: null, target: { userId: 'ada' }, status: 'queued', reason: 'Left the company', progress: { appsDone: 0, tokensRevoked: 0 } });
    expect((await during).every((r) => r.status === 201)).toBe(true);
    const after = Array.from({ length: 3 }, () => rawToken('after'));
    for (const token of after) expect((await register(org, { token, type: 'access', appId: 'chat', userId: 'ada' })).status).toBe(201);

    // Before the worker ran: every token from before is inactive, the lists and counts agree.
    for (const token of [...Object.values(ada).flat(), refresh, access]) expect(await active(token), token).toBe(false);
    expect(await active(bob)).toBe(true);
    for (const token of after) expect(await active(token)).toBe(true);
    expect(await usersOf('mail')).toEqual(['bob']);
    expect(await usersOf('crm')).toEqual([]);
    expect(await counts('mail')).toEqual({ userCount: 1, activeTokenCount: 1 });
    expect(await counts('wiki')).toEqual({ userCount: 0, activeTokenCount: 0 });
    expect(await appsOf('ada')).toEqual(['chat']);
    const listedApps = ((await call('listApps', { claims: admin })).body.items as { appId: string }[]).map((a) => a.appId);
    expect(listedApps).toEqual(expect.arrayContaining(['mail', 'chat']));
    expect(listedApps).not.toContain('wiki');

    // The same key answers the same job; the job lists without an app.
    const retried = await offboard('ada', { reason: 'Left the company' }, 'offboard-ada');
    expect([retried.status, (retried.body as Job).jobId]).toEqual([202, answered.jobId]);
    const listed = (await call('listRevocationJobs', { claims: admin })).body.items as Job[];
    expect(listed.find((j) => j.jobId === answered.jobId)).toMatchObject({ appId: null, target: { userId: 'ada' } });

    await drainQueue();
    const done = await job(answered.jobId);
    expect(done.status).toBe('succeeded');
    // The racing registrations that beat the offboarding were revoked by it, in chat too.
    const raced = (await Promise.all(racing.map(active))).filter((a) => !a).length;
    expect(done.progress).toEqual({ appsDone: raced > 0 ? 4 : 3, tokensRevoked: 8 + raced });
    for (const appId of ['mail', 'crm', 'wiki', 'chat']) {
      const drift = await exact(appId);
      expect(drift, appId).toMatchObject(noDrift);
      expect(sameCounts(drift), appId).toBe(true);
    }
    expect(await counts('chat')).toEqual({ userCount: 1, activeTokenCount: racing.length - raced + after.length });
    for (const token of after) expect(await active(token)).toBe(true);

    const events = (await call('listAuditEvents', { claims: admin, query: { userId: 'ada' } })).body.items as { action: string; appId: string | null; jobId: string | null }[];
    expect(events.filter((e) => e.jobId === answered.jobId).map((e) => [e.action, e.appId])).toEqual([['revocation.completed', null], ['revocation.requested', null]]);
  });

  it('with block: true also denies the user new tokens, in one audited change', async () => {
    await createApp(org, 'hr');
    const held = rawToken('held');
    expect((await register(org, { token: held, type: 'access', appId: 'hr', userId: 'cy' })).status).toBe(201);
    const reply = await offboard('cy', { block: true });
    expect(reply.status, reply.text).toBe(202);
    expect(await active(held)).toBe(false);
    const refused = await register(org, { token: rawToken('new'), type: 'access', appId: 'hr', userId: 'cy' });
    expect([refused.status, refused.body.type]).toEqual([409, 'urn:oauth-usage:problem:user-blocked']);
    const events = (await call('listAuditEvents', { claims: admin, query: { userId: 'cy' } })).body.items as { action: string }[];
    expect(events.map((e) => e.action).sort()).toEqual(['revocation.requested', 'user.blocked']);
    // A user holding nothing: a job over no app, which succeeds.
    const nobody = await offboard('nobody');
    expect(nobody.status).toBe(202);
    await drainQueue();
    expect(await job((nobody.body as Job).jobId)).toMatchObject({ status: 'succeeded', progress: { appsDone: 0, tokensRevoked: 0 } });
    expect(await job((reply.body as Job).jobId)).toMatchObject({ status: 'succeeded', progress: { appsDone: 1, tokensRevoked: 1 } });
  });

  it('a call that died after committing: the worker raises every app before it plans, never one holding a token registered since, and the job ends exact', async () => {
    await createApp(org, 'ops');
    await createApp(org, 'docs');
    const tokens = [rawToken('o1'), rawToken('o2'), rawToken('d1')];
    for (const [i, token] of tokens.entries()) expect((await register(org, { token, type: 'access', appId: i < 2 ? 'ops' : 'docs', userId: 'dee' })).status).toBe(201);
    // What the call commits first (the watermark and the job), and nothing after.
    const now = Date.now();
    const seen = await getOrgUser(org, 'dee');
    const died: RevocationJob = {
      orgId: org, jobId: newJobId(now), appId: OFFBOARDING_APP_ID, target: { userId: 'dee' }, status: 'queued',
      runAt: null, createdAt: iso(now), startedAt: null, finishedAt: null, requestedBy: 'admin', reason: null,
      progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null, appEpoch: null, userEpochs: {},
      offboarding: { userId: 'dee', offboardEpoch: seen.offboardEpoch + 1, raiseCursor: '', raisedApps: 0, appsRaised: false },
      plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: iso(now),
    };
    expect(await commit([offboardWrite(seen, iso(now), { block: false }), createJobWrite(died, stallCheckAt(now))])).toBe(true);
    for (const token of tokens) expect(await active(token)).toBe(false); // the watermark alone
    expect(await counts('ops')).toEqual({ userCount: 1, activeTokenCount: 2 }); // not uncounted yet
    // A token registered after the watermark, long before the worker runs: not the job's.
    const later = rawToken('o3');
    expect((await register(org, { token: later, type: 'access', appId: 'ops', userId: 'dee' })).status).toBe(201);
    expect(await active(later)).toBe(true);
    // It finds the offboarded tokens still counted there and uncounts them: the counts are exact from now on.
    expect(await counts('ops')).toEqual({ userCount: 1, activeTokenCount: 1 });
    // An ended token revoked again (RFC 7009) counts nowhere: nothing is uncounted twice.
    expect((await call('revoke', { claims: admin, form: { token: tokens[0] as string } })).status).toBe(200);
    expect(await counts('ops')).toEqual({ userCount: 1, activeTokenCount: 1 });

    await sendPlan(died);
    await drainQueue();
    expect(await job(died.jobId)).toMatchObject({ status: 'succeeded', progress: { appsDone: 2, tokensRevoked: 3 } });
    expect(await active(later)).toBe(true);
    expect([await counts('ops'), await counts('docs')]).toEqual([{ userCount: 1, activeTokenCount: 1 }, { userCount: 0, activeTokenCount: 0 }]);
    for (const appId of ['ops', 'docs']) expect(sameCounts(await exact(appId))).toBe(true);
    expect(await usersOf('ops')).toEqual(['dee']);
  });

  it('an offboarding an older version started (its apps a map on the job) is adopted: its plan raises and cleans every app, and the job ends exact', async () => {
    await createApp(org, 'legacy-a');
    await createApp(org, 'legacy-b');
    const tokens = [rawToken('la'), rawToken('lb')];
    for (const [i, token] of tokens.entries()) expect((await register(org, { token, type: 'access', appId: i === 0 ? 'legacy-a' : 'legacy-b', userId: 'gus' })).status).toBe(201);
    const now = Date.now();
    const seen = await getOrgUser(org, 'gus');
    const legacy = {
      orgId: org, jobId: newJobId(now), appId: OFFBOARDING_APP_ID, target: { userId: 'gus' }, status: 'queued',
      runAt: null, createdAt: iso(now), startedAt: null, finishedAt: null, requestedBy: 'admin', reason: null,
      progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null, appEpoch: null, userEpochs: {},
      offboarding: { userId: 'gus', offboardEpoch: seen.offboardEpoch + 1, apps: {}, appsRaised: false },
      plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: iso(now),
    } as unknown as RevocationJob;
    expect(await commit([offboardWrite(seen, iso(now), { block: false }), createJobWrite(legacy, stallCheckAt(now))])).toBe(true);
    await sendPlan(legacy);
    await drainQueue();
    expect(await job(legacy.jobId)).toMatchObject({ status: 'succeeded', progress: { appsDone: 2, tokensRevoked: 2 } });
    expect([await counts('legacy-a'), await counts('legacy-b')]).toEqual([{ userCount: 0, activeTokenCount: 0 }, { userCount: 0, activeTokenCount: 0 }]);
  });

  it('revokes JWTs of a trusted issuer issued before it, learned before or after, and not those issued after', async () => {
    const issuerId = 'offboarding-okta';
    const trusted = await call('trustIssuer', { claims: admin, path: { issuerId }, json: { issuer: idp.issuer(issuerId), jwksUri: idp.jwksUri(issuerId), preset: 'okta', audiences: ['api://default'] } });
    expect(trusted.status, trusted.text).toBe(201);
    const jwt = (jti: string) => idp.sign({ ver: 1, jti, iss: idp.issuer(issuerId), aud: 'api://default', iat: epoch(), exp: epoch(3600), cid: '0oa1offboard', uid: 'eve', scp: ['orders:read'], sub: 'eve@example.com' });
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    try {
      const seenBefore = await jwt('AT.seen');
      const unseen = await jwt('AT.unseen');
      expect(await active(seenBefore)).toBe(true);
      expect((await offboard('eve')).status).toBe(202);
      expect(await active(seenBefore)).toBe(false);
      expect(await active(unseen)).toBe(false);
      vi.setSystemTime(t0 + 120_000);
      expect(await active(await jwt('AT.later'))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers 400 naming the field for a bad body, and 422 for a key reused with another body', async () => {
    const bad = await offboard('fay', { block: 'yes' });
    expect([bad.status, (bad.body.errors as { path: string }[]).map((e) => e.path)]).toEqual([400, ['body.block']]);
    expect((await offboard('fay', {}, 'fay-1')).status).toBe(202);
    expect((await offboard('fay', { reason: 'other' }, 'fay-1')).status).toBe(422);
  });
});
