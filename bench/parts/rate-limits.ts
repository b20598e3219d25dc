import { dynamo } from '../../shared/db/client.js';
import { createApp, introspect, rawToken, register } from '../../test/support/api.js';
import { recordRequests } from '../request-counter.js';
import type { Metric } from '../metric.js';

const org = 'bench-limits';
const LOAD_MS = 5_000;

/**
 * The per-org limiter at steady load: one container introspecting for one org as fast as it can
 * for five seconds (under the org's budget). Every call's requests are counted through the real
 * handler: the limiter's report to the org's window (one UpdateItem and one GetItem, about once a
 * second) and the round trips the caller waits for with and without one.
 */
export async function measureRateLimiter(): Promise<Metric[]> {
  await createApp(org, 'steady');
  const tokens: string[] = [];
  for (let i = 0; i < 50; i++) {
    const token = rawToken('bench-limits');
    if ((await register(org, { token, type: 'access', appId: 'steady', userId: `user-${i}` })).status !== 201) throw new Error('register failed');
    tokens.push(token);
  }
  const counter = recordRequests(dynamo);
  const started = performance.now();
  let calls = 0;
  let windowWrites = 0;
  let added = 0;
  let reports = 0;
  while (performance.now() - started < LOAD_MS) {
    const reply = await counter.during(() => introspect(org, tokens[calls % tokens.length] as string));
    if (reply.body.active !== true) throw new Error(`introspection under the limiter: ${reply.status} ${reply.text}`);
    calls += 1;
    const limiter = counter.limiterRequests();
    windowWrites += limiter.filter((c) => c === 'UpdateItemCommand').length;
    if (limiter.length > 0) {
      reports += 1;
      added = Math.max(added, counter.allRoundTrips() - counter.ownRoundTrips());
    }
  }
  const seconds = (performance.now() - started) / 1000;
  counter.dispose();
  return [
    { name: 'limiter.windowWritesPerSecondPerOrg', value: Number((windowWrites / seconds).toFixed(2)), unit: `writes a second (one container, ${Math.round(calls / seconds)} introspections a second)`, limit: { max: 1.5 } },
    { name: 'limiter.addedRoundTrips', value: added, unit: `round trips the caller waits for beyond its own, worst of ${reports} calls that reported`, limit: { max: 0 } },
  ];
}
