import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { pollOnce } from '../../local/queue-poller.js';
import { db, dynamo, TableName } from '../../shared/db/client.js';
import { countsNow, grantRef, heldTokens, legacyParentId, type Lineage } from '../../shared/domain/rules.js';
import { toGrant } from '../../shared/db/grant.js';
import { toToken } from '../../shared/db/token.js';
import { enqueue } from '../../shared/queue.js';
import { drainQueue, dropQueue } from '../support/queue.js';
import { resumeUnfinishedJobs } from '../../shared/domain/sweep.js';
import { table } from '../../shared/db/table.js';
import { appUserKeys } from '../../shared/db/app-user.js';
import { CLIENT_USER_ID, isClientUser, type AppUser, type Grant, type Token } from '../../shared/model.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';

/**
 * Random sequences of registrations (access, refresh, access from a refresh — live or dead —,
 * retried registrations of live and revoked tokens), rotations of refresh tokens in one call per
 * grant (of live, rotated-out and dead ones: reuse), retried rotations, the AS introspecting
 * rotated-out tokens, uses, RFC 7009 and admin revocations (racing rotations), other spellings of
 * token ids, Bulk Revoke retried with its Idempotency-Key, worker crashes, redeliveries and
 * restarts that lose the queue; some run concurrently in pairs. After each sequence every stored
 * counter must equal what the items say and the tokens live at the AS (not retired, not revoked),
 * the list flags must match, and introspection must agree with a plain model of which tokens are
 * alive: no token of a revoked grant, and no token that was revoked, ever introspects active again.
 */
type Op =
  | { kind: 'register'; user: number; type: 'access' | 'refresh'; fromRefresh: number | null }
  | { kind: 'duplicate'; token: number }
  | { kind: 'use'; token: number }
  | { kind: 'revoke'; token: number; via: 'rfc7009' | 'admin' }
  | { kind: 'revokeUsers'; users: number[]; via: 'user' | 'bulk' }
  | { kind: 'revokeAll' }
  | { kind: 'work'; rounds: number; crashAt: number | null }
  | { kind: 'redeliver' }
  | { kind: 'alias'; token: number; bits: number }
  | { kind: 'retryJob'; users: number[] }
  | { kind: 'restart' }
  | { kind: 'rotate'; token: number; withAccess: boolean }
  | { kind: 'retryRotation'; rotation: number }
  | { kind: 'reuseCheck'; token: number };

/** Ops that create or run revocation jobs, or whose outcome depends on what ran before them in the step; steps holding one run in sequence. */
const JOB_OPS = new Set(['revokeUsers', 'revokeAll', 'work', 'redeliver', 'retryJob', 'restart', 'retryRotation', 'reuseCheck']);

/** Users, and the app's own client (client-credentials tokens: registered without a userId, never a user of the app). */
const USERS = ['u0', 'u1', 'u2', CLIENT_USER_ID];
/** The registration fields that name a token's owner. */
const owner = (user: string) => (isClientUser(user) ? {} : { userId: user });
/** Revoking users' tokens names users only: the client is no user. */
const realUsers = (indices: number[]) => indices.map((u) => USERS[u] as string).filter((u) => !isClientUser(u));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('register' as const), user: fc.nat(USERS.length - 1), type: fc.constantFrom('access' as const, 'refresh' as const), fromRefresh: fc.option(fc.nat(20)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), token: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('use' as const), token: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('revoke' as const), token: fc.nat(20), via: fc.constantFrom('rfc7009' as const, 'admin' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeUsers' as const), users: fc.uniqueArray(fc.nat(USERS.length - 1), { minLength: 1, maxLength: 2 }), via: fc.constantFrom('user' as const, 'bulk' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeAll' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('work' as const), rounds: fc.integer({ min: 1, max: 3 }), crashAt: fc.option(fc.integer({ min: 1, max: 12 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alias' as const), token: fc.nat(20), bits: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retryJob' as const), users: fc.uniqueArray(fc.nat(USERS.length - 1), { minLength: 1, maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rotate' as const), token: fc.nat(20), withAccess: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retryRotation' as const), rotation: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reuseCheck' as const), token: fc.nat(20) }) },
);
/** Steps run one after the other; the ops inside a step run concurrently. */
const scenario = fc.array(fc.array(op, { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 12 });

/**
 * A worker crash: while armed, the `at`-th DynamoDB request fails, wherever the worker is in its
 * step; the message comes back and must finish the work without doing any of it twice. At most
 * three crashes a sequence, so no message reaches the dead-letter queue (recovering those is the
 * sweep's job).
 */
const crash = { at: 0, count: 0 };
const MAX_CRASHES = 3;
dynamo.middlewareStack.add(
  (next) => async (args) => {
    if (crash.at && ++crash.count === crash.at) throw Object.assign(new Error('injected crash'), { name: 'InjectedCrash' });
    return next(args);
  },
  { step: 'initialize', name: 'injectCrash' },
);
const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1' });

interface ModelToken {
  raw: string;
  tokenId: string;
  user: string;
  type: 'access' | 'refresh';
  /** The tokens of one authorization share this object: revoking any refresh token of it revokes them all. */
  grant: { revoked: boolean; onReuse?: true };
  revoked: boolean;
  /** Rotated out: inactive and uncounted, but still of the grant (presented again, it is reuse). */
  retired: boolean;
}

/** Revoked, by itself or with its grant: never active again. */
const dead = (t: ModelToken): boolean => t.revoked || t.grant.revoked;
const alive = (t: ModelToken): boolean => !dead(t) && !t.retired;
/** DELETE of one token by id: a user's, or the client's. */
const revokeById = (org: string, appId: string, user: string, tokenId: string) => (isClientUser(user)
  ? call('revokeClientToken', { claims: as(org), path: { appId, tokenId } })
  : call('revokeToken', { claims: as(org), path: { appId, userId: user, tokenId } }));
const problem = (type: string) => `urn:oauth-usage:problem:${type}`;
/** A resource server (which is never shown a refresh token): the AS introspecting a rotated-out refresh token is reuse (the `reuseCheck` op). */
const asResourceServer = (org: string) => as(org, { sub: 'api', scope: 'tokens:introspect' });

const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Another spelling of the same id: the last character's unused low bits set to `bits` (1–15). */
const aliasOf = (id: string, bits: number) => `${id.slice(0, -1)}${base64url[(base64url.indexOf(id.slice(-1)) & ~15) | bits]}`;

let run = 0;

describe('counters and lists stay exact under random sequences', () => {
  it('holds for every sequence', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (steps) => {
        const org = `org-prop-${process.pid}-${run++}`;
        const appId = 'prop';
        await createApp(org, appId);
        const tokens: ModelToken[] = [];
        const jobs: string[] = [];
        const rotations: { body: Record<string, unknown>; made: ModelToken[] }[] = [];
        let crashes = 0;
        let restarts = 0;
        const pick = (i: number) => (tokens.length ? tokens[i % tokens.length] : undefined);

        // Checks that depend on how concurrent ops interleaved run once their step is over.
        const afterStep: (() => void)[] = [];
        const apply = async (o: Op) => {
          if (o.kind === 'register') {
            const candidate = o.fromRefresh === null ? undefined : tokens.filter((t) => t.type === 'refresh' && t.user === USERS[o.user])[o.fromRefresh % 5];
            const parent = o.type === 'access' && candidate ? candidate : null;
            const raw = rawToken('prop');
            const reply = await register(org, { token: raw, type: o.type, appId, ...owner(USERS[o.user] as string), ...(parent ? { refreshTokenId: parent.tokenId } : {}) });
            if (reply.status === 409 && reply.body.type === 'urn:oauth-usage:problem:parent-token-inactive' && parent) {
              // A dead refresh token never parents a token (it may have died while this call ran).
              afterStep.push(() => expect(alive(parent), 'refused only because its refresh token is revoked').toBe(false));
              return;
            }
            expect(parent === null || alive(parent) || reply.status !== 201, 'a revoked refresh token parented a new token').toBe(true);
            expect(reply.status, reply.text).toBe(201);
            tokens.push({ raw, tokenId: reply.body.tokenId as string, user: USERS[o.user] as string, type: o.type, grant: parent?.grant ?? { revoked: false }, revoked: false, retired: false });
          } else if (o.kind === 'rotate') {
            // A refresh grant in one call: the new refresh token retiring the one presented, and its access token.
            const refreshTokens = tokens.filter((t) => t.type === 'refresh');
            const presented = refreshTokens.length ? refreshTokens[o.token % refreshTokens.length] as ModelToken : undefined;
            if (!presented) return;
            const member = (type: 'access' | 'refresh', extra: Record<string, string>) => ({ token: rawToken('rot'), type, appId, ...owner(presented.user), ...extra });
            const refresh = member('refresh', { previousRefreshToken: presented.raw });
            const body = { tokens: [refresh, ...(o.withAccess ? [member('access', { refreshToken: refresh.token })] : [])] };
            const wasRetired = presented.retired;
            const wasRevoked = presented.revoked; // before this step: an admin's revocation may run beside it
            const reply = await register(org, body);
            if (reply.status === 201) {
              const made = (reply.body.tokens as Record<string, unknown>[]).map((r, i) => ({
                raw: body.tokens[i]!.token, tokenId: r.tokenId as string, user: presented.user, type: body.tokens[i]!.type, grant: presented.grant, revoked: false, retired: false,
              }));
              expect(wasRetired, 'a rotated-out refresh token was rotated again').toBe(false);
              presented.retired = true;
              tokens.push(...made);
              rotations.push({ body, made });
            } else if (reply.body.type === problem('refresh-token-reused')) {
              Object.assign(presented.grant, { revoked: true, onReuse: true });
              afterStep.push(() => expect(presented.retired && !wasRevoked, 'reuse of a token that was not rotated out, or revoked before').toBe(true));
            } else {
              expect([reply.status, reply.body.type], reply.text).toEqual([409, problem('parent-token-inactive')]);
              afterStep.push(() => expect(dead(presented), 'a rotation of a live refresh token refused').toBe(true));
            }
          } else if (o.kind === 'retryRotation') {
            // The AS's outbox sends a committed rotation again: the same answer, 200, never reuse.
            const rotation = rotations.length ? rotations[o.rotation % rotations.length] : undefined;
            if (!rotation) return;
            const reply = await register(org, rotation.body);
            if (rotation.made.some(dead)) expect([reply.status, reply.body.type], reply.text).toEqual([409, problem('token-revoked')]);
            else expect(reply.status, reply.text).toBe(200);
          } else if (o.kind === 'reuseCheck') {
            // The AS checks a refresh token it was presented: a rotated-out one is reuse, and ends its grant.
            const t = pick(o.token);
            if (!t) return;
            const reply = await introspect(org, t.raw);
            expect(reply.body.active, `token ${t.tokenId}`).toBe(alive(t));
            if (t.retired) Object.assign(t.grant, { revoked: true, onReuse: true });
          } else if (o.kind === 'duplicate') {
            const t = pick(o.token);
            if (!t) return;
            const reply = await register(org, { token: t.raw, type: t.type, appId, ...owner(t.user) });
            // Revoked is final: a retried registration never brings a token back (nor a rotated-out one: it stays retired).
            if (!dead(t)) expect(reply.status, reply.text).toBe(200);
            else expect([reply.status, reply.body.type], reply.text).toEqual([409, expect.stringMatching(/token-revoked$/)]);
          } else if (o.kind === 'use') {
            const t = pick(o.token);
            if (t) await call('introspect', { claims: asResourceServer(org), form: { token: t.raw } });
          } else if (o.kind === 'revokeUsers') {
            const userIds = realUsers(o.users);
            if (userIds.length === 0) return;
            const reply = o.via === 'user' && userIds.length === 1
              ? await call('revokeUserTokens', { claims: as(org), path: { appId, userId: userIds[0] as string } })
              : await call('requestRevocation', { claims: as(org), path: { appId }, json: { userIds } });
            expect(reply.status, reply.text).toBe(202);
            jobs.push(reply.body.jobId as string);
            for (const t of tokens) if (userIds.includes(t.user)) t.revoked = true;
          } else if (o.kind === 'revokeAll') {
            const reply = await call('requestRevocation', { claims: as(org), path: { appId }, json: { all: true } });
            expect(reply.status, reply.text).toBe(202);
            jobs.push(reply.body.jobId as string);
            for (const t of tokens) t.revoked = true;
          } else if (o.kind === 'work') {
            const { handler } = await import('../../functions/worker/queue-worker.js');
            Object.assign(crash, { at: o.crashAt !== null && crashes++ < MAX_CRASHES ? o.crashAt : 0, count: 0 });
            try {
              for (let r = 0; r < o.rounds; r++) await pollOnce(sqs, process.env.QUEUE_URL as string, handler, 0, { retryFailedAtOnce: true });
            } finally {
              crash.at = 0;
            }
          } else if (o.kind === 'alias') {
            // Another spelling of a token's id names nothing: not for DELETE, not as a parent.
            const t = pick(o.token);
            if (!t) return;
            const alias = aliasOf(t.tokenId, o.bits);
            expect((await revokeById(org, appId, t.user, alias)).status).toBe(404);
            if (t.type === 'refresh') {
              const child = await register(org, { token: rawToken('alias'), type: 'access', appId, ...owner(t.user), refreshTokenId: alias });
              expect([child.status, child.body.type], child.text).toEqual([409, 'urn:oauth-usage:problem:parent-token-inactive']);
            }
          } else if (o.kind === 'retryJob') {
            // A retried Bulk Revoke answers the same job, and every one of its users is revoked.
            const userIds = realUsers(o.users);
            if (userIds.length === 0) return;
            const request = { claims: as(org), path: { appId }, json: { userIds }, headers: { 'idempotency-key': `retry-${jobs.length}` } };
            const first = await call('requestRevocation', request);
            expect(first.status, first.text).toBe(202);
            for (const t of tokens) if (userIds.includes(t.user)) t.revoked = true;
            const again = await call('requestRevocation', request);
            expect([again.status, again.body.jobId]).toEqual([202, first.body.jobId]);
            jobs.push(first.body.jobId as string);
          } else if (o.kind === 'restart') {
            // The local server restarts: its queue is lost, its unfinished jobs resume at once.
            await dropQueue();
            restarts++;
            await resumeUnfinishedJobs(Date.now());
          } else if (o.kind === 'redeliver') {
            const last = jobs.at(-1);
            if (last) await enqueue([{ kind: 'plan', orgId: org, jobId: last, pass: 0 }]);
          } else {
            const t = pick(o.token);
            if (!t) return;
            if (o.via === 'rfc7009') {
              expect((await call('revoke', { claims: as(org), form: { token: t.raw } })).status).toBe(200);
            } else {
              const reply = await revokeById(org, appId, t.user, t.tokenId);
              expect([204, 404]).toContain(reply.status);
            }
            t.revoked = true;
            // A refresh token takes its grant, current or rotated out.
            if (t.type === 'refresh') t.grant.revoked = true;
          }
        };

        for (const step of steps) {
          // Re-registering a value races with its own revocation in ways the model cannot order: run such steps in sequence.
          if (step.some((o) => o.kind === 'duplicate' || JOB_OPS.has(o.kind))) for (const o of step) await apply(o);
          else await Promise.all(step.map(apply));
          afterStep.splice(0).forEach((check) => check());
        }
        // Counters are exact at every moment, even with cleanup still queued…
        await checkInvariants(org, appId, tokens);
        // …and once the queue has done its work every job succeeded and no revoked item is left.
        await drainQueue({ retryFailedAtOnce: true });
        for (const jobId of jobs) {
          expect((await call('getRevocationJob', { claims: as(org), path: { jobId } })).body.status, jobId).toBe('succeeded');
        }
        await checkInvariants(org, appId, tokens, { cleaned: true, restarts });
      }),
      { numRuns: 25, interruptAfterTimeLimit: 90_000 },
    );
  });
});

async function checkInvariants(org: string, appId: string, tokens: ModelToken[], { cleaned = false, restarts = 0 } = {}) {
  const items = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :org', ExpressionAttributeValues: { ':org': org } }))).Items ?? [];
  const users = items.filter((i) => i.entity === 'AppUser') as unknown as AppUser[];
  const shards = items.filter((i) => i.entity === 'AppShard');
  const app = items.find((i) => i.entity === 'App');
  const epoch = Number(app?.revokeEpoch);
  const tokenItems = items.filter((i) => i.entity === 'Token').map((i) => toToken(i) as Token);
  const parents = new Map(items.filter((i) => i.entity === 'Token' || i.entity === 'TokenTombstone').map((i) => [i.tokenId as string, toToken(i) as Token]));
  const grants = new Map(items.filter((i) => i.entity === 'Grant').map((i) => [i.grantId as string, toGrant(i) as Grant]));
  const lineageOf = (t: Token): Lineage => ({ grant: grants.get(grantRef(t)?.grantId ?? ''), legacyParent: parents.get(legacyParentId(t) ?? '') });
  const counted = (u: AppUser) => tokenItems.filter((t) => t.userId === u.userId && countsNow(t, u, epoch, lineageOf(t)));

  const links = items.filter((i) => i.entity === 'UserAppLink').map((i) => ({ userId: i.userId as string, countEpoch: i.countEpoch as number }));
  for (const user of users) {
    const held = counted(user).length;
    expect(heldTokens(user, epoch), `user ${user.userId}`).toBe(held);
    // Listed under the app's epoch (active users) and linked (the user's apps) exactly while holding tokens.
    const stored = user as unknown as Record<string, unknown>;
    const listedNow = stored[table.indexes.gsi3.partitionKey] !== undefined && stored[table.indexes.gsi3.sortKey] === appUserKeys.activeById(org, appId, epoch, user.userId)[table.indexes.gsi3.sortKey];
    expect(listedNow, `user ${user.userId} listed`).toBe(held > 0);
    expect(links.some((l) => l.userId === user.userId && l.countEpoch === epoch), `user ${user.userId} linked`).toBe(held > 0);
  }
  if (cleaned) expect(links.filter((l) => l.countEpoch !== epoch).map((l) => l.userId), 'links of ended epochs left after cleanup').toEqual([]);
  const sum = (name: string) => shards.reduce((total, s) => total + Number(s[name]), 0);
  const live = users.reduce((total, u) => total + counted(u).length, 0);
  expect(sum('activeTokenCount'), 'app tokens').toBe(live);
  // The counts are the tokens live at the AS: neither rotated out nor revoked.
  expect(live, 'counted tokens against the model').toBe(tokens.filter(alive).length);
  expect(sum('userCount'), 'app users').toBe(users.filter((u) => counted(u).length > 0 && !isClientUser(u.userId)).length);
  for (const item of [app, ...shards]) {
    expect(item?.active, 'active flag').toBe(live > 0);
    expect(item?.[table.indexes.gsi2.partitionKey] !== undefined, 'listed as active').toBe(live > 0);
  }
  if (cleaned) {
    // Left for the sweep: a revoked grant's tokens whose cleanup a restart lost (its check of the
    // revoked token's tombstone comes a day later), or a grant revoked on reuse (its check is due
    // at once, at the next sweep); and the rotated-out refresh tokens, kept until they expire.
    const onReuse = new Set(tokens.filter((t) => t.grant.onReuse).map((t) => t.tokenId));
    const awaitingCheck = (t: Token) => lineageOf(t).grant?.revokedAt != null && (restarts > 0 || onReuse.has(t.tokenId));
    const revokedLeft = tokenItems.filter((t) => t.retiredAt === null && !countsNow(t, users.find((u) => u.userId === t.userId) as AppUser, epoch, lineageOf(t)) && !awaitingCheck(t));
    expect(revokedLeft.map((t) => t.tokenId), 'revoked items left after cleanup').toEqual([]);
  }
  for (const t of tokens) {
    // A refresh token is shown only to the AS, which may ask for any but a rotated-out one of a live grant (that would be reuse).
    const askTheAs = t.type === 'refresh' && !(t.retired && !dead(t));
    const reply = await call('introspect', { claims: askTheAs ? as(org) : asResourceServer(org), form: { token: t.raw } });
    expect(reply.body.active, `token ${t.tokenId} (${t.type})`).toBe(alive(t));
  }
}
