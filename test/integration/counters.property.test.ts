import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { table } from '../../shared/db/table.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

/**
 * Random sequences of registrations (access, refresh, access from a refresh, duplicates), uses,
 * RFC 7009 and admin revocations, some run concurrently in pairs. After each sequence every
 * stored counter must equal what the items say, the list flags must match, and introspection
 * must agree with a plain model of which tokens are alive.
 */
type Op =
  | { kind: 'register'; user: number; type: 'access' | 'refresh'; fromRefresh: number | null }
  | { kind: 'duplicate'; token: number }
  | { kind: 'use'; token: number }
  | { kind: 'revoke'; token: number; via: 'rfc7009' | 'admin' };

const USERS = ['u0', 'u1', 'u2'];
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('register' as const), user: fc.nat(USERS.length - 1), type: fc.constantFrom('access' as const, 'refresh' as const), fromRefresh: fc.option(fc.nat(20)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), token: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('use' as const), token: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('revoke' as const), token: fc.nat(20), via: fc.constantFrom('rfc7009' as const, 'admin' as const) }) },
);
/** Steps run one after the other; the ops inside a step run concurrently. */
const scenario = fc.array(fc.array(op, { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 10 });

interface ModelToken {
  raw: string;
  tokenId: string;
  user: string;
  type: 'access' | 'refresh';
  parent: ModelToken | null;
  revoked: boolean;
}

const alive = (t: ModelToken): boolean => !t.revoked && !(t.parent?.revoked ?? false);

let run = 0;

describe('counters and lists stay exact under random sequences', () => {
  it('holds for every sequence', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (steps) => {
        const org = `org-prop-${process.pid}-${run++}`;
        const appId = 'prop';
        await createApp(org, appId);
        const tokens: ModelToken[] = [];
        const pick = (i: number) => (tokens.length ? tokens[i % tokens.length] : undefined);

        // Checks that depend on how concurrent ops interleaved run once their step is over.
        const afterStep: (() => void)[] = [];
        const apply = async (o: Op) => {
          if (o.kind === 'register') {
            const candidate = o.fromRefresh === null ? undefined : tokens.filter((t) => t.type === 'refresh' && t.user === USERS[o.user])[o.fromRefresh % 5];
            const parent = o.type === 'access' && candidate && alive(candidate) ? candidate : null;
            const raw = rawToken('prop');
            const reply = await register(org, { token: raw, type: o.type, appId, userId: USERS[o.user], ...(parent ? { refreshTokenId: parent.tokenId } : {}) });
            if (reply.status === 400 && parent) {
              afterStep.push(() => expect(parent.revoked, 'refused only because its refresh token was revoked meanwhile').toBe(true));
              return;
            }
            expect(reply.status, reply.text).toBe(201);
            tokens.push({ raw, tokenId: reply.body.tokenId as string, user: USERS[o.user] as string, type: o.type, parent, revoked: false });
          } else if (o.kind === 'duplicate') {
            const t = pick(o.token);
            if (!t) return;
            const reply = await register(org, { token: t.raw, type: t.type, appId, userId: t.user });
            if (alive(t)) expect(reply.status, reply.text).toBe(200);
            else if (reply.status === 201) Object.assign(t, { revoked: false, parent: null }); // a deleted access token, registered anew
            else expect(reply.status, reply.text).toBe(t.revoked && t.type === 'refresh' ? 409 : 200);
          } else if (o.kind === 'use') {
            const t = pick(o.token);
            if (t) await introspect(org, t.raw);
          } else {
            const t = pick(o.token);
            if (!t) return;
            if (o.via === 'rfc7009') {
              expect((await call('revoke', { claims: as(org), form: { token: t.raw } })).status).toBe(200);
            } else {
              const reply = await call('revokeToken', { claims: as(org), path: { appId, userId: t.user, tokenId: t.tokenId } });
              expect([204, 404]).toContain(reply.status);
            }
            t.revoked = true;
          }
        };

        for (const step of steps) {
          // Re-registering a value races with its own revocation in ways the model cannot order: run such steps in sequence.
          if (step.some((o) => o.kind === 'duplicate')) for (const o of step) await apply(o);
          else await Promise.all(step.map(apply));
          afterStep.splice(0).forEach((check) => check());
        }
        await checkInvariants(org, appId, tokens);
      }),
      { numRuns: 25, interruptAfterTimeLimit: 60_000 },
    );
  });
});

async function checkInvariants(org: string, appId: string, tokens: ModelToken[]) {
  const items = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :org', ExpressionAttributeValues: { ':org': org } }))).Items ?? [];
  const liveTokens = items.filter((i) => i.entity === 'Token' && !i.revokedAt);
  const users = items.filter((i) => i.entity === 'AppUser');
  const shards = items.filter((i) => i.entity === 'AppShard');
  const app = items.find((i) => i.entity === 'App');

  for (const user of users) {
    const held = liveTokens.filter((t) => t.userId === user.userId).length;
    expect(user.activeTokenCount, `user ${String(user.userId)}`).toBe(held);
    expect(user[table.indexes.gsi3.partitionKey] !== undefined, `user ${String(user.userId)} listed`).toBe(held > 0);
  }
  const sum = (name: string) => shards.reduce((total, s) => total + Number(s[name]), 0);
  expect(sum('activeTokenCount')).toBe(liveTokens.length);
  expect(sum('userCount')).toBe(users.filter((u) => Number(u.activeTokenCount) > 0).length);
  for (const item of [app, ...shards]) {
    expect(item?.active, 'active flag').toBe(liveTokens.length > 0);
    expect(item?.[table.indexes.gsi2.partitionKey] !== undefined, 'listed as active').toBe(liveTokens.length > 0);
  }
  for (const t of tokens) {
    expect((await introspect(org, t.raw)).body.active, `token ${t.tokenId} (${t.type})`).toBe(alive(t));
  }
}
