import type { AddressInfo } from 'node:net';
import { createLocalApi } from '../../local/http-server.js';
import { dynamo } from '../../shared/db/client.js';
import { getIssuerByUrl } from '../../shared/db/issuer.js';
import { verifyLearned } from '../../shared/domain/learned-tokens.js';
import { as, call, createApp, introspect } from '../../test/support/api.js';
import { testIssuer } from '../../test/support/issuer.js';
import { epoch, startTestIssuer } from '../../test/support/jwt-issuer.js';
import { recordRequests } from '../request-counter.js';
import type { Metric } from '../metric.js';

const org = 'bench-learned';
const TOKENS = 200;
const AUDIENCE = 'https://bench.example';
const VERIFY_RUNS = 2_000;

/**
 * JWT access tokens of a trusted issuer (its keys served on loopback, RS256 as most identity
 * providers sign): each one's first sight (learned: stored and counted, then its use) and its
 * later introspections, counted through the real handler; the issuer's key fetches over the
 * whole part; the CPU time of checking one token (signature and rules, keys cached) beside the
 * latency of a whole introspection through the local HTTP server.
 */
export async function measureLearnedTokens(options: { count: number }): Promise<Metric[]> {
  const idp = await startTestIssuer();
  try {
    const trusted = await call('trustIssuer', { claims: as(org), path: { issuerId: 'idp' }, json: { issuer: idp.issuer('idp'), jwksUri: idp.jwksUri('idp'), audiences: [AUDIENCE] } });
    if (trusted.status !== 201) throw new Error(`trustIssuer: ${trusted.status} ${trusted.text}`);
    await createApp(org, 'learned-client'); // as after the client's first token: the app exists
    const iat = epoch();
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i++) {
      tokens.push(await idp.sign({ iss: idp.issuer('idp'), aud: AUDIENCE, client_id: 'learned-client', sub: `user-${i % 50}`, scope: 'orders:read', jti: `bench-${i}`, iat, exp: iat + 3600 }));
    }

    // The container's first due entry of a bucket writes its org's due marker first (once per
    // container, org and bucket: shared/db/due-markers.ts); the first sights are measured after it.
    const warm = await idp.sign({ iss: idp.issuer('idp'), aud: AUDIENCE, client_id: 'learned-client', sub: 'user-warm', scope: 'orders:read', jti: 'bench-warm', iat, exp: iat + 3600 });
    if ((await introspect(org, warm)).body.active !== true) throw new Error('the warm-up token introspected as inactive');

    const counter = recordRequests(dynamo);
    const sample = async (token: string) => {
      const reply = await counter.during(() => introspect(org, token));
      if (reply.body.active !== true) throw new Error(`a learned token introspected as inactive: ${reply.text}`);
      return { reads: counter.readRoundTrips(), writes: counter.writeRoundTrips(), rcu: counter.rcu(), wcu: counter.wcu() };
    };
    type Sample = Awaited<ReturnType<typeof sample>>;
    const firstSights: Sample[] = [];
    for (const token of tokens) firstSights.push(await sample(token));
    const steady: Sample[] = [];
    for (const token of tokens) steady.push(await sample(token));
    counter.dispose();

    // Checking one token, alone: jose's signature check and the issuer's rules, its keys cached.
    const issuer = await getIssuerByUrl(org, idp.issuer('idp'));
    if (!issuer) throw new Error('the trusted issuer is not found by its URL');
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < VERIFY_RUNS; i++) {
      if (!(await verifyLearned(issuer, tokens[i % TOKENS] as string, Date.now()))) throw new Error('a learned token did not verify');
    }
    const cpu = process.cpuUsage(cpuBefore);
    const verifyCpuMs = (cpu.user + cpu.system) / 1000 / VERIFY_RUNS;

    // The whole call through the local HTTP server, as the introspection part times a registered token.
    const callerIssuer = await testIssuer();
    const server = await createLocalApi(callerIssuer);
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/introspect`;
    const jwt = await callerIssuer.mint({ sub: 'resource-server', org_id: org, org_edition: 'Developer', scope: 'tokens:introspect' });
    const once = async (token: string) => {
      const started = performance.now();
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
      const answer = (await response.json()) as { active?: boolean };
      if (response.status !== 200 || answer.active !== true) throw new Error(`introspect over HTTP: ${response.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 100; i++) await once(tokens[i % TOKENS] as string); // warm up
    const times: number[] = [];
    for (let i = 0; i < options.count; i++) times.push(await once(tokens[i % TOKENS] as string));
    server.close();
    times.sort((a, b) => a - b);
    const percentile = (p: number) => Number((times[Math.min(times.length - 1, Math.floor(times.length * p))] as number).toFixed(2));

    const worst = (samples: Sample[], pick: (s: Sample) => number) => Math.max(...samples.map(pick));
    const mean = (samples: Sample[], pick: (s: Sample) => number) => Number((samples.reduce((sum, s) => sum + pick(s), 0) / samples.length).toFixed(2));
    return [
      { name: 'learned.firstSight.sequentialReadRoundTrips', value: worst(firstSights, (s) => s.reads), unit: 'round trips (worst of 200 first sights, the app existing)', limit: { max: 2 } },
      { name: 'learned.firstSight.writeRoundTrips', value: worst(firstSights, (s) => s.writes), unit: 'round trips (the token stored and counted, then its use)', limit: { max: 2 } },
      { name: 'learned.sequentialReadRoundTrips', value: worst(steady, (s) => s.reads), unit: 'round trips (worst of 200, once seen)', limit: { max: 2 } },
      { name: 'learned.writeRoundTrips', value: worst(steady, (s) => s.writes), unit: 'round trips', limit: { max: 1 } },
      // The registered token's floor without a grant (the token, a shard, the user row: 3 RCU) plus the two units learned tokens
      // add (bench/README.md): the issuer by its URL, and the value's own keys (a JWT may have been registered by its value).
      { name: 'learned.modelledRCU', value: mean(steady, (s) => s.rcu), unit: 'RCU per call (mean, once seen; the org-wide user watermark read)', limit: { max: 6 } },
      { name: 'learned.modelledWCU', value: mean(steady, (s) => s.wcu), unit: 'WCU per call (mean; the day\'s usage counted)', limit: { max: 5 } },
      { name: 'learned.firstSight.modelledWCU', value: mean(firstSights, (s) => s.wcu), unit: 'WCU per call (mean)', limit: null },
      { name: 'learned.jwksFetchesPerIssuer', value: idp.fetches, unit: `fetches (over ${2 * TOKENS + VERIFY_RUNS + 100 + options.count} checks)`, limit: { max: 1 } },
      { name: 'learned.verifyCpuMs', value: Number(verifyCpuMs.toFixed(3)), unit: 'ms of CPU per token checked (RS256, keys cached)', limit: null },
      { name: 'learned.p50Ms', value: percentile(0.5), unit: 'ms (the whole call, beside learned.verifyCpuMs)', limit: null },
      { name: 'learned.p99Ms', value: percentile(0.99), unit: 'ms', limit: null },
    ];
  } finally {
    await idp.close();
  }
}
