import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { chunk } from '../../shared/db/items.js';
import { jobPut } from '../../shared/db/jobs.js';
import { MAX_SCHEDULED_JOBS_PER_ORG, MAX_UNFINISHED_JOBS_PER_APP } from '../../shared/domain/revocations.js';
import type { RevocationJob } from '../../shared/domain/model.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';

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
    const jobs = Array.from({ length: MAX_SCHEDULED_JOBS_PER_ORG }, (_, n): RevocationJob => ({
      orgId: limited, jobId: `job_${Date.now().toString(36).padStart(10, '0')}${n.toString(16).padStart(12, '0')}`, appId: 'app', target: { userIds: ['x'] },
      status: 'scheduled', runAt, createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, requestedBy: 'script', reason: null,
      progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null, appEpoch: null, userEpochs: {},
      plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: null,
    }));
    for (const part of chunk(jobs, 25)) {
      await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: part.map((j) => ({ PutRequest: { Item: jobPut(j, runAt).Put.Item } })) } }));
    }
    const refused = await call('requestRevocation', { claims: as(limited), path: { appId: 'app' }, json: { userIds: ['y'], runAt } });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    // Not scheduled: not limited by it.
    expect((await call('requestRevocation', { claims: as(limited), path: { appId: 'app' }, json: { userIds: ['y'] } })).status).toBe(202);
  });
});
