import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedApp } from '../../bench/seed.js';
import { lambdaContext } from '../../local/event.js';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, register, rawToken } from '../support/api.js';
import { drainQueue, runSweepRounds } from '../support/queue.js';
import { recordRequests } from '../../bench/request-counter.js';

const org = 'org-sweep-cost';
const t0 = Date.parse('2027-06-01T00:00:00.000Z');

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(t0);
});
afterAll(() => {
  vi.useRealTimers();
});

describe('the cost of a sweep', () => {
  it('over 10,000 tokens not due and 10 due reads the 10 due entries, not the 10,000', { timeout: 120_000 }, async () => {
    await seedApp(org, 'big', 1000, 10, { expiresAt: new Date(t0 + 365 * 86_400_000).toISOString() });
    await createApp(org, 'soon');
    for (let i = 0; i < 10; i++) {
      const reply = await register(org, { token: rawToken(), type: 'access', appId: 'soon', userId: `u${i}`, expiresAt: new Date(t0 + 60_000).toISOString() });
      expect(reply.status).toBe(201);
    }

    vi.setSystemTime(t0 + 120_000);
    const { handler } = await import('../../functions/jobs/sweep.js');
    const counter = recordRequests(dynamo);
    const report = await counter.during(async () => {
      await handler({}, lambdaContext('sweep'));
      return runSweepRounds();
    });
    counter.dispose();
    expect(report.tokensDue).toBe(10);
    // The 10 due entries, the org's due marker of their bucket (and the org's sweep state, once it exists); the 10,000 not due are never read.
    expect(counter.itemsRead()).toBeGreaterThanOrEqual(11);
    expect(counter.itemsRead()).toBeLessThanOrEqual(12);
    expect(counter.commands()).not.toContain('ScanCommand');

    await drainQueue();
    const counts = async (appId: string) => (await call('getApp', { claims: as(org), path: { appId } })).body;
    expect(await counts('soon')).toMatchObject({ userCount: 0, activeTokenCount: 0 });
    expect(await counts('big')).toMatchObject({ userCount: 1000, activeTokenCount: 10_000 });
  });
});
