import { describe, expect, it } from 'vitest';
import { listApps } from '../../shared/db/app.js';
import { listActiveAppsOfUser, listActiveUsers } from '../../shared/db/app-user.js';
import { listAuditEvents } from '../../shared/db/audit-event.js';
import { listJobs } from '../../shared/db/job.js';
import type { ListedPage } from '../../shared/db/requests.js';
import { listUserTokens } from '../../shared/db/token.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';
import { scheduledJob, storeJobs } from '../support/jobs.js';

/**
 * A page cut short for Lambda's payload limit resumes from the resume key of its last item kept
 * (shared/domain/paging.ts). For every list answered to callers: a page started from item k's
 * resume key begins with item k + 1, whatever the list reads (an index, a BatchGetItem, groups).
 */
async function expectResumeKeysContinue<T>(read: (limit: number, startKey?: Record<string, unknown>) => Promise<ListedPage<T>>, idOf: (item: T) => string, expected: number) {
  const whole = await read(100);
  expect(whole.items.map(idOf)).toHaveLength(expected);
  expect(whole.resumeKeys).toHaveLength(expected);
  for (let k = 0; k < expected - 1; k++) {
    const next = await read(1, whole.resumeKeys[k]);
    expect(next.items.map(idOf)[0], `after item ${k}`).toBe(idOf(whole.items[k + 1] as T));
  }
}

describe('resume keys of every listed page', () => {
  const org = 'org-resume';

  it('continue right after their item: apps, Usage by User (both orders), a user\'s apps and tokens, jobs and audit events (each filter)', { timeout: 60_000 }, async () => {
    for (const appId of ['a-app', 'b-app', 'c-app', 'd-app']) {
      await createApp(org, appId, { name: `${appId} name` });
      for (const userId of ['u1', 'u2', 'u3', 'u4']) expect((await register(org, { token: rawToken(), type: 'access', appId, userId })).status).toBe(201);
    }
    for (let i = 0; i < 4; i++) expect((await register(org, { token: rawToken(), type: 'refresh', appId: 'a-app', userId: 'u1' })).status).toBe(201);
    for (const userId of ['u1', 'u2']) {
      expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'd-app', userId } })).status).toBe(202);
    }
    await storeJobs(Array.from({ length: 5 }, (_, n) => ({ ...scheduledJob(org, 'a-app', n, new Date().toISOString()), status: 'succeeded' as const, runAt: null })), '9999-12-31T00:00:00.000Z');

    await expectResumeKeysContinue((limit, startKey) => listApps(org, { activeOnly: true, limit, startKey }), (a) => a.appId, 4);
    await expectResumeKeysContinue((limit, startKey) => listApps(org, { activeOnly: false, limit, startKey }), (a) => a.appId, 4);
    await expectResumeKeysContinue((limit, startKey) => listActiveUsers(org, 'a-app', 'userId', limit, startKey), (r) => r.user.userId, 4);
    await expectResumeKeysContinue((limit, startKey) => listActiveUsers(org, 'a-app', '-lastUsedAt', limit, startKey), (r) => r.user.userId, 4);
    await expectResumeKeysContinue((limit, startKey) => listActiveAppsOfUser(org, 'u3', limit, startKey), (r) => r.user.appId, 4);
    await expectResumeKeysContinue((limit, startKey) => listUserTokens(org, 'a-app', 'u1', limit, startKey), (t) => t.tokenId, 5);
    await expectResumeKeysContinue((limit, startKey) => listJobs(org, { appId: 'a-app', status: 'succeeded' }, limit, startKey), (j) => j.jobId, 5);
    await expectResumeKeysContinue((limit, startKey) => listJobs(org, { appId: 'd-app' }, limit, startKey), (j) => j.jobId, 2);
    await expectResumeKeysContinue((limit, startKey) => listJobs(org, {}, limit, startKey), (j) => j.jobId, 7);
    await expectResumeKeysContinue((limit, startKey) => listAuditEvents(org, { appId: 'd-app', userId: 'u1' }, limit, startKey), (e) => e.eventId, 1);
    await expectResumeKeysContinue((limit, startKey) => listAuditEvents(org, { appId: 'd-app' }, limit, startKey), (e) => e.eventId, 3);
    await expectResumeKeysContinue((limit, startKey) => listAuditEvents(org, {}, limit, startKey), (e) => e.eventId, 6);
  });
});
