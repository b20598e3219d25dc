import { afterEach, describe, expect, it, vi } from 'vitest';
import { putOrgLimits } from '../../shared/db/rate-window.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/**
 * Per-org request budgets (contract section 10): an org over one of its budgets gets 429 with
 * Retry-After and the RateLimit header fields, while other orgs, its other budgets and its
 * revocations are untouched; containers learn each other's traffic from the org's window.
 */
afterEach(() => {
  vi.useRealTimers();
});

type Api = { call: typeof call };
/**
 * Gives the org small budgets, as an operator would, and moves the clock (Date only) past the
 * minute after which every container reads them again: one call of each budget through each
 * container makes it read them, then the clock moves on a second, so that each starts with a
 * full bucket of its budget. Returns that time.
 */
async function withBudgets(org: string, limits: Parameters<typeof putOrgLimits>[1], apis: Api[] = [{ call }]): Promise<number> {
  await putOrgLimits(org, limits);
  const at = Math.ceil(Date.now() / 1000) * 1000 + 61_100;
  vi.useFakeTimers({ toFake: ['Date'], now: at });
  for (const api of apis) {
    await api.call('introspect', { claims: as(org, { scope: 'tokens:introspect' }), form: { token: 'warm-up-token-0123456789' } });
    await api.call('registerToken', { claims: as(org, { scope: 'tokens:write' }), json: { token: rawToken('warm-up'), type: 'access', appId: 'no-such-app' } });
    await api.call('listApps', { claims: as(org) });
  }
  vi.setSystemTime(at + 1_100);
  return at + 1_100;
}

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

    // The org's authorization server, introspecting to check a refresh, spends the registration budget: its sign-ins go on.
    expect((await call('introspect', { claims: as(a, { sub: 'as', scope: 'tokens:write tokens:introspect' }), form: { token: tokenA } })).status).toBe(200);

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

describe('revocations', () => {
  it('are never limited: with every budget of the org spent, each revocation path goes through', async () => {
    const org = 'org-limited-revocations';
    await createApp(org, 'crm');
    const tokens = await Promise.all(['one', 'two', 'three'].map(async (label) => {
      const token = rawToken(label);
      const answer = await register(org, { token, type: 'access', appId: 'crm', userId: 'ada' });
      expect(answer.status).toBe(201);
      return { token, tokenId: answer.body.tokenId as string };
    }));
    const client = await register(org, { token: rawToken('client'), type: 'access', appId: 'crm' });
    expect((await call('declareResourceServer', { claims: as(org), path: { sub: 'orders-api' }, json: { name: 'Orders', audience: 'https://orders.example' } })).status).toBe(201);
    expect((await call('trustIssuer', { claims: as(org), path: { issuerId: 'idp' }, json: { issuer: 'http://127.0.0.1:9/idp', jwksUri: 'http://127.0.0.1:9/idp/keys', audiences: ['api'] } })).status).toBe(201);
    await withBudgets(org, { introspect: 1, register: 1, admin: 1 });
    const spent = async (name: Parameters<typeof call>[0], options: Parameters<typeof call>[1]) => {
      for (let i = 0; i < 3; i++) await call(name, options);
      expect((await call(name, options)).status, name).toBe(429);
    };
    await spent('listApps', { claims: as(org) });
    await spent('registerToken', { claims: as(org, { scope: 'tokens:write' }), json: { token: rawToken(), type: 'access', appId: 'crm', userId: 'bob' } });
    await spent('introspect', { claims: as(org, { scope: 'tokens:introspect' }), form: { token: tokens[0]!.token } });

    const paths = { appId: 'crm', userId: 'ada' };
    const revocations: [Parameters<typeof call>[0], Parameters<typeof call>[1], number][] = [
      ['revoke', { claims: as(org, { scope: 'tokens:write' }), form: { token: tokens[0]!.token } }, 200],
      ['revokeToken', { claims: as(org), path: { ...paths, tokenId: tokens[1]!.tokenId } }, 204],
      ['revokeClientToken', { claims: as(org), path: { appId: 'crm', tokenId: client.body.tokenId as string } }, 204],
      ['revokeUserTokens', { claims: as(org), path: paths }, 202],
      ['requestRevocation', { claims: as(org), path: { appId: 'crm' }, json: { userIds: ['ada'], dryRun: true } }, 200],
      ['requestRevocation', { claims: as(org), path: { appId: 'crm' }, json: { all: true } }, 202],
      ['revokeClientSecrets', { claims: as(org), path: { sub: 'orders-api' } }, 204],
      ['deleteResourceServer', { claims: as(org), path: { sub: 'orders-api' } }, 204],
      ['distrustIssuer', { claims: as(org), path: { issuerId: 'idp' } }, 204],
    ];
    for (const [name, options, status] of revocations) expect((await call(name, options)).status, name).toBe(status);
  });
});

describe('containers of one org', () => {
  it('under the budget, are never refused: one container at 80% of it for five seconds', async () => {
    const org = 'org-limited-under';
    const start = await withBudgets(org, { admin: 10 });
    for (let second = 0; second < 5; second++) {
      vi.setSystemTime(start + second * 1000);
      for (let i = 0; i < 8; i++) expect((await call('listApps', { claims: as(org) })).status, `second ${second}, call ${i}`).toBe(200);
    }
  });

  it('learn each other\'s traffic from the org\'s window: each alone within the budget, together held to about it within a few seconds', async () => {
    const org = 'org-limited-two';
    /** A container: the modules loaded anew (its own limiter state). */
    const container = async () => {
      vi.resetModules();
      const api = await import('../support/api.js');
      await api.loadAllHandlers();
      return api;
    };
    const containers = [await container(), await container(), await container()];
    const start = await withBudgets(org, { admin: 10 }, containers);
    // Each second, each container takes all it is given (stops at its first 429).
    const admittedPerSecond: number[][] = [];
    for (let second = 0; second < 7; second++) {
      vi.setSystemTime(start + second * 1000);
      const admitted: number[] = [];
      for (const api of containers) {
        let n = 0;
        for (let i = 0; i < 15; i++) {
          const answer = await api.call('listApps', { claims: as(org) });
          if (answer.status === 429) {
            expect(answer.headers.ratelimit).toBe('"admin";r=0;t=1');
            break;
          }
          expect(answer.status).toBe(200);
          n += 1;
        }
        admitted.push(n);
      }
      admittedPerSecond.push(admitted);
    }
    const totals = admittedPerSecond.map((a) => a.reduce((sum, n) => sum + n, 0));
    // No container alone above the budget in any second; together over it at first (each knows only itself), then held to it.
    for (const admitted of admittedPerSecond) for (const n of admitted) expect(n).toBeLessThanOrEqual(10);
    expect(totals[0]).toBeGreaterThan(10);
    // Held to about the budget, neither over it for long nor shut out.
    for (const total of totals.slice(4)) {
      expect(total, totals.join(', ')).toBeLessThanOrEqual(13);
      expect(total, totals.join(', ')).toBeGreaterThanOrEqual(6);
    }
  });
});
