import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasher } from '../../shared/domain/hasher.js';
import { as, call } from '../support/api.js';
import { drainQueue } from '../support/queue.js';
import { startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';

/**
 * Random sequences over the JWTs of a trusted issuer: tokens issued (and presented, or not), the
 * clock moving, revocations of users, of every token, of one token by its id or by RFC 7009, some
 * racing a first presentation. After every step each token must introspect exactly as a plain
 * model says: revoked when a revocation that covers it returned at or after its issue (within the
 * issuer's 60 s of clock trust), by its id or by its value; active otherwise. Once the queue has
 * drained, the app's counts equal the live tokens.
 */
type Op =
  | { kind: 'issue'; user: number }
  | { kind: 'present'; token: number }
  | { kind: 'advance'; seconds: number }
  | { kind: 'revokeUsers'; users: number[] }
  | { kind: 'revokeAll' }
  | { kind: 'revokeById'; token: number }
  | { kind: 'rfc7009'; token: number }
  | { kind: 'race'; token: number; users: number[] };

const USERS = ['ada', 'bob', 'cy'];
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('issue' as const), user: fc.nat(USERS.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('present' as const), token: fc.nat(15) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.constantFrom(5, 30, 59, 61, 90, 400) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revokeUsers' as const), users: fc.uniqueArray(fc.nat(USERS.length - 1), { minLength: 1, maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeAll' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeById' as const), token: fc.nat(15) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rfc7009' as const), token: fc.nat(15) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('race' as const), token: fc.nat(15), users: fc.uniqueArray(fc.nat(USERS.length - 1), { minLength: 1, maxLength: 2 }) }) },
);

interface Issued { user: string; jti: string; iatMs: number; jwt: string; revokedByItself: boolean }
interface Revocation { users: Set<string> | 'all'; at: number }

const SKEW_MS = 60_000;
const org = 'org-learned-property';
const admin = as(org, { sub: 'admin@org-learned-property' });
const resourceServer = as(org, { sub: 'orders-api', scope: 'tokens:introspect' });
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
  const trusted = await call('trustIssuer', { claims: admin, path: { issuerId: 'prop' }, json: { issuer: idp.issuer('prop'), jwksUri: idp.jwksUri('prop'), audiences: ['api'] } });
  expect(trusted.status).toBe(201);
});
afterAll(async () => idp.close());

describe('learned tokens under random revocations, presentations and clocks', () => {
  it('a token issued before a revocation that covers it never introspects active after it returns; the counts match the live tokens', { timeout: 600_000 }, async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 12 }), async (ops) => {
      run += 1;
      const appId = `prop-${run}`;
      expect((await call('createApp', { claims: admin, json: { appId, name: appId } })).status).toBe(201);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      try {
        const tokens: Issued[] = [];
        const revocations: Revocation[] = [];
        const dead = (t: Issued) => t.revokedByItself || revocations.some((r) => (r.users === 'all' || r.users.has(t.user)) && t.iatMs <= r.at + SKEW_MS);
        const present = async (t: Issued) => (await call('introspect', { claims: resourceServer, form: { token: t.jwt } })).body.active === true;
        const revokeUsers = async (users: string[]) => {
          const at = Date.now();
          for (const userId of users) expect((await call('revokeUserTokens', { claims: admin, path: { appId, userId } })).status).toBe(202);
          revocations.push({ users: new Set(users), at });
        };
        const pick = (n: number) => tokens[n % Math.max(tokens.length, 1)];
        for (const step of ops) {
          if (step.kind === 'issue') {
            const jti = `${appId}-t${tokens.length}`;
            const iat = Math.floor(Date.now() / 1000);
            const jwt = await idp.sign({ iss: idp.issuer('prop'), aud: 'api', sub: USERS[step.user], client_id: appId, jti, iat, exp: iat + 86_400 });
            tokens.push({ user: USERS[step.user] as string, jti, iatMs: iat * 1000, jwt, revokedByItself: false });
          } else if (step.kind === 'present') {
            const t = pick(step.token);
            if (t) expect(await present(t)).toBe(!dead(t));
          } else if (step.kind === 'advance') {
            vi.advanceTimersByTime(step.seconds * 1000);
          } else if (step.kind === 'revokeUsers') {
            await revokeUsers(step.users.map((u) => USERS[u] as string));
          } else if (step.kind === 'revokeAll') {
            const at = Date.now();
            expect((await call('requestRevocation', { claims: admin, path: { appId }, json: { all: true } })).status).toBe(202);
            revocations.push({ users: 'all', at });
          } else if (step.kind === 'revokeById') {
            const t = pick(step.token);
            if (!t) continue;
            const { tokenId } = hasher.digest({ issuer: idp.issuer('prop'), tokenId: t.jti });
            const answer = await call('revokeToken', { claims: admin, path: { appId, userId: t.user, tokenId } });
            expect([204, 404]).toContain(answer.status); // 404: never presented, so not known by its id yet
            if (answer.status === 204) t.revokedByItself = true;
          } else if (step.kind === 'rfc7009') {
            const t = pick(step.token);
            if (!t) continue;
            expect((await call('revoke', { claims: admin, form: { token: t.jwt } })).status).toBe(200);
            t.revokedByItself = true;
          } else {
            // A first (or later) presentation racing a revocation: either may win, but once the revocation returned, the token is dead if it covers it.
            const t = pick(step.token);
            if (!t) continue;
            await Promise.all([present(t), revokeUsers(step.users.map((u) => USERS[u] as string))]);
          }
          for (const t of tokens) if (dead(t)) expect(await present(t), `${t.jti} after ${JSON.stringify(step)}`).toBe(false);
        }
        for (const t of tokens) expect(await present(t), t.jti).toBe(!dead(t));
        await drainQueue();
        const live = tokens.filter((t) => !dead(t));
        const app = (await call('getApp', { claims: admin, path: { appId } })).body;
        expect([app.activeTokenCount, app.userCount]).toEqual([live.length, new Set(live.map((t) => t.user)).size]);
      } finally {
        vi.useRealTimers();
      }
    }), { numRuns: 12 });
  });
});
