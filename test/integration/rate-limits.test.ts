import { afterEach, describe, expect, it, vi } from 'vitest';
import { putOrgLimits, rateKeys } from '../../shared/db/rate-window.js';
import { getItem } from '../../shared/db/requests.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/**
 * Per-org request budgets (contract section 10): an org over one of its budgets gets 429 with
 * Retry-After and the RateLimit header fields, while other orgs, its other budgets and its
 * revocations are untouched; containers learn each other's traffic from the org's window.
 */
afterEach(() => {
  vi.useRealTimers();
});

/** The limiter reads an org's overrides on its first report: one call, then the small budget holds. */
const withBudgets = async (org: string, limits: Parameters<typeof putOrgLimits>[1], api = { call }) => {
  await putOrgLimits(org, limits);
  await api.call('introspect', { claims: as(org, { scope: 'tokens:introspect' }), form: { token: 'warm-up-token-0123456789' } });
  await api.call('listApps', { claims: as(org) });
};

describe('an org over its introspection budget', () => {
  it('is answered 429 with the headers, while another org\'s introspections, its own registrations and its revocations go through', async () => {
    const [a, b] = ['org-limited-a', 'org-limited-b'];
    await createApp(a, 'crm');
    await createApp(b, 'crm');
    const tokenOf = async (org: string) => {
      const token = rawToken();
      expect((await register(org, { token, type: 'access', appId: 'crm', userId: 'ada' })).status).toBe(201);
      return token;
    };
    const [tokenA, tokenB] = [await tokenOf(a), await tokenOf(b)];
    await withBudgets(a, { introspect: 5 });

    vi.useFakeTimers({ toFake: ['Date'], now: Math.ceil(Date.now() / 1000) * 1000 + 100 });
    const introspectAs = (org: string, token: string) => call('introspect', { claims: as(org, { scope: 'tokens:introspect' }), form: { token } });
    const answers: number[] = [];
    for (let i = 0; i < 12; i++) {
      const ofA = await introspectAs(a, tokenA);
      answers.push(ofA.status);
      if (ofA.status === 429) {
        expect(ofA.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringContaining('introspect budget of 5') });
        expect(ofA.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-policy': '"introspect";q=5;w=1', ratelimit: expect.stringMatching(/^"introspect";r=0;t=1$/) });
      }
      const ofB = await introspectAs(b, tokenB);
      expect([ofB.status, ofB.body.active]).toEqual([200, true]);
    }
    // At most a second of the budget in that second (the bucket was full), then refusals.
    expect(answers.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(answers.slice(-5)).toEqual([429, 429, 429, 429, 429]);

    // Its other budgets and its revocations are its own.
    const later = rawToken();
    expect((await register(a, { token: later, type: 'access', appId: 'crm', userId: 'bob' })).status).toBe(201);
    expect((await call('listApps', { claims: as(a) })).status).toBe(200);
    expect((await call('revoke', { claims: as(a, { scope: 'tokens:write' }), form: { token: tokenA } })).status).toBe(200);
    expect((await call('revokeUserTokens', { claims: as(a), path: { appId: 'crm', userId: 'bob' } })).status).toBe(202);

    // A second later the budget is there again.
    vi.setSystemTime(Date.now() + 1_500);
    expect((await introspectAs(a, later)).status).toBe(200);
  });

  it('answers rate-limited problem+json on /v1, with the same headers', async () => {
    const org = 'org-limited-admin';
    await withBudgets(org, { admin: 3 });
    vi.useFakeTimers({ toFake: ['Date'], now: Math.ceil(Date.now() / 1000) * 1000 + 100 });
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 6; i++) {
      const answer = await call('listApps', { claims: as(org) });
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(refused?.headers['content-type']).toBe('application/problem+json');
    expect(refused?.body).toMatchObject({ type: 'urn:oauth-usage:problem:rate-limited', status: 429 });
    expect(refused?.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-policy': '"admin";q=3;w=1' });
  });
});

describe('two containers of one org', () => {
  it('learn each other\'s traffic from the org\'s window: over the budget together, each refuses though its own bucket is not empty', async () => {
    const org = 'org-limited-two';
    /** A container: the modules loaded anew (its own limiter state). */
    const container = async () => {
      vi.resetModules();
      const api = await import('../support/api.js');
      await api.loadAllHandlers();
      return api;
    };
    const [one, two] = [await container(), await container()];
    await putOrgLimits(org, { admin: 10 });
    const second = Math.ceil(Date.now() / 1000) * 1000;
    vi.useFakeTimers({ toFake: ['Date'], now: second + 100 });
    const list = (api: typeof one) => api.call('listApps', { claims: as(org) });
    // Each container alone stays within the budget: 6 calls each in the first second.
    for (let i = 0; i < 6; i++) {
      expect((await list(one)).status).toBe(200);
      expect((await list(two)).status).toBe(200);
    }
    // A second later each reports its 6: together 12 in a second, over the 10.
    vi.setSystemTime(second + 1_200);
    expect((await list(one)).status).toBe(200);
    expect((await list(two)).status).toBe(200);
    const window = await getItem(rateKeys.window(org, 'admin', Math.floor((second + 1_200) / 1000)));
    expect(window?.admitted).toBe(12);
    const refused = await list(two);
    expect(refused.status).toBe(429);
    // Its own bucket still held requests: it was the org's window that refused.
    expect(refused.headers.ratelimit).toMatch(/^"admin";r=[1-9]\d*;t=1$/);
    // The one that reported first saw the window under the budget: it admits until its next report.
    expect((await list(one)).status).toBe(200);
  });
});
