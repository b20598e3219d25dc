import type { AddressInfo } from 'node:net';
import { createLocalApi } from '../../local/http-server.js';
import { dynamo } from '../../shared/db/client.js';
import { as, call, createApp, introspect, rawToken, register } from '../../test/support/api.js';
import { testIssuer } from '../../test/support/issuer.js';
import { recordRequests } from '../request-counter.js';
import type { Metric } from '../metric.js';

const org = 'bench-introspect';
const TOKENS = 200;
const AUDIENCE = 'https://bench.example';

/** A grant's tokens as an authorization server registers them: the refresh token, then the access token issued from it. */
const grantCall = (userId: string, previousRefreshToken?: string) => {
  const refresh = rawToken('bench-refresh');
  const access = rawToken('bench');
  return {
    refresh, access,
    body: { tokens: [
      { token: refresh, type: 'refresh', appId: 'busy', userId, ...(previousRefreshToken ? { previousRefreshToken } : {}) },
      { token: access, type: 'access', appId: 'busy', userId, refreshToken: refresh, audience: [AUDIENCE] },
    ] },
  };
};

/**
 * The machine endpoints in the steady state. Registration of a grant in one call (a code
 * exchange; a refresh grant that rotates): round trips per call. Introspection of access tokens
 * of grants already in use: requests and modelled capacity per call through the real handler,
 * and latency through the local HTTP server (JWT checked, event built, handler called), one
 * request at a time.
 */
export async function measureIntrospection(options: { dataDir: string; count: number }): Promise<Metric[]> {
  await createApp(org, 'busy');
  const counter = recordRequests(dynamo);
  const grants: { reads: number; writes: number; kind: 'code' | 'refresh' }[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const userId = `user-${i % 50}`;
    const code = grantCall(userId);
    const exchange = await counter.during(() => register(org, code.body));
    if (exchange.status !== 201) throw new Error(`register: ${exchange.status} ${exchange.text}`);
    grants.push({ reads: counter.readRoundTrips(), writes: counter.writeRoundTrips(), kind: 'code' });
    const next = grantCall(userId, code.refresh);
    const refreshed = await counter.during(() => register(org, next.body));
    if (refreshed.status !== 201) throw new Error(`register: ${refreshed.status} ${refreshed.text}`);
    grants.push({ reads: counter.readRoundTrips(), writes: counter.writeRoundTrips(), kind: 'refresh' });
    tokens.push(next.access);
  }
  // First uses: the first 50 are each user's first of the day, whose day item is made in one transaction with the app's count of users.
  const firstOfDay: { writes: number; dayWcu: number }[] = [];
  for (const [i, token] of tokens.entries()) {
    await counter.during(() => introspect(org, token));
    const dayWcu = counter.entries().filter((e) => e.written.some((k) => k.includes('#USAGE'))).reduce((sum, e) => sum + e.wcu, 0);
    if (i < 50) firstOfDay.push({ writes: counter.writeRoundTrips(), dayWcu });
  }

  const samples: { reads: number; writes: number; rcu: number; wcu: number; dayWcu: number }[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const reply = await counter.during(() => introspect(org, tokens[i] as string));
    if (reply.body.active !== true) throw new Error('a registered token introspected as inactive');
    // What the usage-by-day counters (the app's day item and the user's) cost on top of the use itself.
    const dayWcu = counter.entries().filter((e) => e.written.some((k) => k.includes('#USAGE'))).reduce((sum, e) => sum + e.wcu, 0);
    samples.push({ reads: counter.readRoundTrips(), writes: counter.writeRoundTrips(), rcu: counter.rcu(), wcu: counter.wcu(), dayWcu });
  }
  counter.dispose();
  const worst = (kind: 'code' | 'refresh', pick: (g: (typeof grants)[number]) => number) => Math.max(...grants.filter((g) => g.kind === kind).map(pick));

  // The introspection function verifies the bearer JWT itself, against the issuer its environment names: the test issuer's.
  const issuer = await testIssuer();
  const server = await createLocalApi(issuer);
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/introspect`;
  const jwt = await issuer.mint({ sub: 'resource-server', org_id: org, org_edition: 'Developer', scope: 'tokens:introspect' });
  const once = async (token: string, authorization = `Bearer ${jwt}`) => {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    const answer = (await response.json()) as { active?: boolean };
    if (response.status !== 200 || answer.active !== true) throw new Error(`introspect over HTTP: ${response.status}`);
    return performance.now() - started;
  };
  // The caller declared (its audience checked; the declaration cached per container), then the
  // JWT path and HTTP Basic client credentials timed call by call in turn, so both see the same
  // machine, cache and table.
  await call('declareResourceServer', { claims: as(org), path: { sub: 'resource-server' }, json: { name: 'Bench RS', audience: AUDIENCE } });
  const { clientSecret } = (await call('createClientSecret', { claims: as(org), path: { sub: 'resource-server' } })).body as { clientSecret: string };
  const basic = `Basic ${Buffer.from(`resource-server:${clientSecret}`).toString('base64')}`;
  const counter2 = recordRequests(dynamo);
  const steady = async (authorization?: string) => {
    await once(tokens[0] as string, authorization); // the declaration is read once per container, then cached
    const seen: { reads: number; writes: number }[] = [];
    for (let i = 0; i < 50; i++) {
      await counter2.during(() => once(tokens[i] as string, authorization));
      seen.push({ reads: counter2.readRoundTrips(), writes: counter2.writeRoundTrips() });
    }
    return { reads: Math.max(...seen.map((x) => x.reads)), writes: Math.max(...seen.map((x) => x.writes)) };
  };
  const declared = await steady();
  const withBasic = await steady(basic);
  counter2.dispose();
  for (let i = 0; i < 100; i++) await once(tokens[i % TOKENS] as string, i % 2 ? basic : undefined); // warm up
  const times: number[] = [];
  const basicTimes: number[] = [];
  for (let i = 0; i < options.count; i++) {
    times.push(await once(tokens[i % TOKENS] as string));
    basicTimes.push(await once(tokens[i % TOKENS] as string, basic));
  }
  times.sort((a, b) => a - b);
  basicTimes.sort((a, b) => a - b);
  server.close();
  const percentileOf = (sorted: number[], p: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number).toFixed(2));
  const percentile = (p: number) => percentileOf(times, p);
  const mean = (pick: (s: (typeof samples)[number]) => number) => Number((samples.reduce((sum, s) => sum + pick(s), 0) / samples.length).toFixed(2));

  return [
    { name: 'register.codeExchange.sequentialReadRoundTrips', value: worst('code', (g) => g.reads), unit: 'round trips (refresh + access token, one call)', limit: { max: 2 } },
    { name: 'register.codeExchange.writeRoundTrips', value: worst('code', (g) => g.writes), unit: 'round trips', limit: { max: 1 } },
    { name: 'register.refreshGrant.sequentialReadRoundTrips', value: worst('refresh', (g) => g.reads), unit: 'round trips (rotation + access token, one call)', limit: { max: 2 } },
    { name: 'register.refreshGrant.writeRoundTrips', value: worst('refresh', (g) => g.writes), unit: 'round trips', limit: { max: 1 } },
    { name: 'introspect.sequentialReadRoundTrips', value: Math.max(...samples.map((s) => s.reads)), unit: 'round trips', limit: { max: 2 } },
    { name: 'introspect.writeRoundTrips', value: Math.max(...samples.map((s) => s.writes)), unit: 'round trips', limit: { max: 1 } },
    // The design's floor (bench/README.md): four strongly consistent reads (the token, a shard, the
    // user row, the token's grant) and the use written to the token and the user row, plus the
    // token's copy in its user's token list (gsi1 projects every attribute, so lastUsedAt and
    // useCount change there too). The grant is the one unit grants added.
    { name: 'introspect.modelledRCU', value: mean((s) => s.rcu), unit: 'RCU per call (mean; an access token of a grant, the org-wide user watermark read)', limit: { max: 5 } },
    { name: 'introspect.modelledWCU', value: mean((s) => s.wcu), unit: 'WCU per call (mean; the day\'s usage counted)', limit: { max: 5 } },
    { name: 'introspect.usageDaysWCU', value: mean((s) => s.dayWcu), unit: 'WCU per call (mean): the app\'s day item and the user\'s', limit: { max: 2 } },
    { name: 'introspect.firstUseOfDay.usageDaysWCU', value: Math.max(...firstOfDay.map((f) => f.dayWcu)), unit: 'WCU (a user\'s first use of the day: its day item and the app\'s count of users in one transaction, 2 WCU an item; once a user a day)', limit: null },
    { name: 'introspect.firstUseOfDay.writeRoundTrips', value: Math.max(...firstOfDay.map((f) => f.writes)), unit: 'round trips', limit: { max: 1 } },
    { name: 'introspect.p50Ms', value: percentile(0.5), unit: 'ms', limit: null },
    { name: 'introspect.p99Ms', value: percentile(0.99), unit: 'ms', limit: null },
    { name: 'introspect.declaredResourceServer.sequentialReadRoundTrips', value: declared.reads, unit: 'round trips (its declaration cached per container)', limit: { max: 2 } },
    { name: 'introspect.declaredResourceServer.writeRoundTrips', value: declared.writes, unit: 'round trips', limit: { max: 1 } },
    { name: 'introspect.basic.sequentialReadRoundTrips', value: withBasic.reads, unit: 'round trips (HTTP Basic client secret)', limit: { max: 2 } },
    { name: 'introspect.basic.writeRoundTrips', value: withBasic.writes, unit: 'round trips', limit: { max: 1 } },
    { name: 'introspect.basic.p50Ms', value: percentileOf(basicTimes, 0.5), unit: 'ms (beside introspect.p50Ms: the JWT verified in the function)', limit: null },
    { name: 'introspect.basic.p99Ms', value: percentileOf(basicTimes, 0.99), unit: 'ms', limit: null },
  ];
}
