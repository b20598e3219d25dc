import { describe, expect, it } from 'vitest';
import { MAX_SCHEDULED_JOBS_PER_ORG, MAX_UNFINISHED_JOBS_PER_APP } from '../../shared/domain/revocations.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';
import { scheduledJob, storeJobs } from '../support/jobs.js';

const org = 'org-limits';
const DAY = 86_400_000;

describe('times are canonical and bounded', () => {
  it('stores and echoes any RFC 3339 offset as UTC with milliseconds; refuses times outside 0000–9999 or too far ahead', async () => {
    await createApp(org, 'times');
    const tomorrowPlus2 = new Date(Date.now() + DAY).toISOString().replace(/\.\d{3}Z$/, '+02:00');
    const ok = await register(org, { token: rawToken(), type: 'access', appId: 'times', userId: 'ada', expiresAt: tomorrowPlus2 });
    expect(ok.status).toBe(201);
    expect(ok.body.expiresAt).toBe(new Date(Date.parse(tomorrowPlus2)).toISOString());
    expect(ok.body.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const elevenYears = new Date(Date.now() + 11 * 365 * DAY).toISOString();
    for (const expiresAt of ['9999-12-31T23:59:59-23:59', elevenYears]) {
      const reply = await register(org, { token: rawToken(), type: 'access', appId: 'times', userId: 'ada', expiresAt });
      expect(reply.status, expiresAt).toBe(400);
      expect(reply.body.errors).toEqual([expect.objectContaining({ path: 'body.expiresAt' })]);
    }
    const twoYears = new Date(Date.now() + 2 * 366 * DAY).toISOString();
    for (const runAt of ['9999-12-31T23:59:59-23:59', twoYears]) {
      const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'times' }, json: { userIds: ['ada'], runAt } });
      expect(reply.status, runAt).toBe(400);
      expect(reply.body.errors).toEqual([expect.objectContaining({ path: 'body.runAt' })]);
    }
  });
});

describe('per-org limits', () => {
  it(`answers 429 with Retry-After once an app has ${MAX_UNFINISHED_JOBS_PER_APP} revocations still running`, { timeout: 60_000 }, async () => {
    await createApp(org, 'busy');
    for (let i = 0; i < MAX_UNFINISHED_JOBS_PER_APP; i++) {
      expect((await call('requestRevocation', { claims: as(org), path: { appId: 'busy' }, json: { userIds: [`u${i}`] } })).status).toBe(202);
    }
    const refused = await call('requestRevocation', { claims: as(org), path: { appId: 'busy' }, json: { userIds: ['one-more'] } });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body.type).toMatch(/too-many-requests$/);
    // Another app of the org is not held back.
    await createApp(org, 'calm');
    expect((await call('requestRevocation', { claims: as(org), path: { appId: 'calm' }, json: { userIds: ['u'] } })).status).toBe(202);
  });

  it(`answers 429 with Retry-After to a scheduled revocation beyond ${MAX_SCHEDULED_JOBS_PER_ORG} scheduled jobs of the org`, { timeout: 60_000 }, async () => {
    const limited = 'org-limits-scheduled';
    await createApp(limited, 'app');
    const runAt = new Date(Date.now() + 30 * DAY).toISOString();
    await storeJobs(Array.from({ length: MAX_SCHEDULED_JOBS_PER_ORG }, (_, n) => scheduledJob(limited, 'app', n, runAt)));
    const refused = await call('requestRevocation', { claims: as(limited), path: { appId: 'app' }, json: { userIds: ['y'], runAt } });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    // Not scheduled: not limited by it.
    expect((await call('requestRevocation', { claims: as(limited), path: { appId: 'app' }, json: { userIds: ['y'] } })).status).toBe(202);
  });
});
