/**
 * Settlement: what happens to tokens after the moment they stop being active. Due tokens (expired,
 * out of policy, revoked by a watermark) are removed and uncounted; the access tokens of a revoked
 * refresh token are tombstoned; a changed refresh-token policy is applied to an app's tokens in
 * passes. All of it arrives as queue messages from the sweep or the API, and all of it re-reads and
 * re-decides, so a duplicated or late message changes nothing.
 */
import pMap from 'p-map';
import { deactivateIfIdle, getAppWithCounters } from '../db/app.js';
import { advancePolicyPass, currentPolicyPass, successorOf } from '../db/policy-pass.js';
import { pageUsersOfApp } from '../db/app-user.js';
import { getTokenContext, listUserTokens, pageGrantTokens, rescheduleToken, settleTombstone, tombstoneTokens } from '../db/token.js';
import { chunk } from '../chunk.js';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { TokenMessage } from '../queue-messages.js';
import { retrying, RETRY } from '../retry.js';
import { sameValue } from '../same-value.js';
import { iso } from '../time.js';
import { auditEvent } from './audit.js';
import type { AppShard, AppUser, Token } from '../model.js';
import { effectiveExpiry, idleExpiry, sweepDueAt } from './policies.js';
import { grantRef, isRevoked, planRemoval, type Lineage, type RemovalAction, type RemovalChoice } from './rules.js';
import { MAX_TOKENS_PER_REMOVAL, removeTokens } from './removal.js';
import { adoptLegacy } from './grants.js';
import { readLineages } from './lineage.js';
import { findTombstone } from './tokens.js';

/** Why a token was removed: its own expiry, the app's refresh-token policy, or a revocation; and tombstones whose children were checked. */
export interface SettleReport {
  expired: number;
  policy: number;
  /** Idle for longer than the session timeout. */
  idle: number;
  revoked: number;
  tombstones: number;
  /** Not due after all (used since, or the policy changed): moved to their new due time. */
  rescheduled: number;
}

const emptyReport = (): SettleReport => ({ expired: 0, policy: 0, idle: 0, revoked: 0, tombstones: 0, rescheduled: 0 });
const addReports = (a: SettleReport, b: SettleReport): SettleReport => ({
  expired: a.expired + b.expired, policy: a.policy + b.policy, idle: a.idle + b.idle, revoked: a.revoked + b.revoked,
  tombstones: a.tombstones + b.tombstones, rescheduled: a.rescheduled + b.rescheduled,
});

/** The audit actor of the scheduled sweep and the work it hands to the queue. */
export const SWEEP_ACTOR = 'sweep';
/** Users whose tokens are settled at once. */
const USER_CONCURRENCY = 8;
/** Users per step of a policy pass (one Query, then their refresh tokens). */
const POLICY_PAGE = 100;
/** Tokens a policy step reads (JOB_STEP_TOKENS, 1,000 unless set): a user holding more goes on in messages of its own. */
const TOKENS_PER_STEP = config.jobStepTokens;

/** Runs a message the sweep or a policy change sent. Idempotent: everything is re-read and re-decided. */
export async function handleTokenMessage(message: TokenMessage, now: number, { redelivered = false } = {}): Promise<void> {
  if (message.kind === 'due') {
    const byUser = new Map<string, string[]>();
    for (const { userId, lookupKey } of message.tokens) byUser.set(userId, [...(byUser.get(userId) ?? []), lookupKey]);
    const parts = [...byUser].flatMap(([userId, lookupKeys]) => chunk(lookupKeys, MAX_TOKENS_PER_REMOVAL).map((part) => ({ userId, part })));
    const reports = await pMap(parts, ({ userId, part }) => settleUserTokens(message.orgId, message.appId, userId, part, now), { concurrency: USER_CONCURRENCY });
    logSettled(message.orgId, message.appId, reports.reduce(addReports, emptyReport()));
  } else if (message.kind === 'children') {
    await cleanChildren(message, now);
  } else if (message.kind === 'policy-user') {
    await enforcePolicyOnUser(message, now);
  } else {
    await enforcePolicyStep(message, now, redelivered);
  }
}

/**
 * One page of the tokens of a revoked refresh token's grant: tombstoned (they died and were
 * uncounted with the grant), then the next page. The sweep's check (`final`: a day later, or at
 * once for a grant revoked on reuse, which sends nothing to the queue) ends by letting the
 * revoked token's tombstone expire with the token.
 */
async function cleanChildren(message: Extract<TokenMessage, { kind: 'children' }>, now: number): Promise<void> {
  const { orgId, appId, userId, tokenId } = message;
  const revoked = await findTombstone(orgId, tokenId);
  if (!revoked) return; // not revoked (or its tombstone expired): nothing of ours to clean
  const grantId = grantRef(revoked)?.grantId ?? revoked.tokenId;
  const page = await pageGrantTokens({ orgId, appId, userId, grantId }, message.cursor ?? undefined);
  await tombstoneTokens(page.items.filter((t) => t.revokedAt === null), iso(now));
  if (page.lastKey) await enqueue([{ ...message, cursor: page.lastKey as Record<string, string> }]);
  else if (message.final) await settleTombstone(revoked);
}

/**
 * One step of a policy pass, after an app's refresh-token policy or session timeout changed: the
 * next page of the app's users, each user's tokens the pass is about (refresh tokens; every token
 * under a session timeout) re-decided under the new policies (out of policy now: purged;
 * otherwise moved to their new due time), then the next step enqueued. A newer policy change
 * ends this pass (it starts its own, and names it the app's current pass), and a step the pass no
 * longer names next (done already, or the successor of a duplicate delivery) does nothing:
 * shared/db/policy-pass.ts.
 */
async function enforcePolicyStep(message: Extract<TokenMessage, { kind: 'policy' }>, now: number, redelivered: boolean): Promise<void> {
  const { orgId, appId } = message;
  const [app, current] = await Promise.all([getAppWithCounters(orgId, appId), message.passId === undefined ? undefined : currentPolicyPass(orgId, appId)]);
  if (!app || !sameValue(app.policies.refreshTokenPolicy, message.policy)) return;
  if (current !== undefined && current.passId !== message.passId) return; // a later policy change started its own pass
  if (current?.step !== undefined && current.step !== message.step) {
    // Done already. A delivery after a failed one may have died between naming its successor and
    // sending it: it sends it again (a first delivery leaves that to the delivery that named it).
    const namedMine = message.step !== undefined && current.step === successorOf(message.step) && current.cursor !== undefined;
    if (redelivered && namedMine) await enqueue([{ ...message, cursor: current.cursor ?? null, step: current.step }]);
    else logger.info('Policy step already done; the pass goes on from the step it named', { appId, passId: current.passId });
    return;
  }
  if (message.sessionTimeoutMinutes !== undefined && message.sessionTimeoutMinutes !== app.policies.sessionTimeoutMinutes) return;
  const page = await pageUsersOfApp(orgId, appId, POLICY_PAGE, message.cursor ?? undefined);
  // Each user's first page, an equal share of a step; a user holding more goes on in its own messages.
  const limit = Math.ceil(TOKENS_PER_STEP / Math.max(1, page.items.length)) + 1;
  const settled = await pMap(page.items, (userId) => settleUserPage(message, userId, limit, undefined, now), { concurrency: USER_CONCURRENCY });
  logSettled(orgId, appId, settled.map((s) => s.report).reduce(addReports, emptyReport()));
  const rest = settled.flatMap(({ userId, lastKey }) => lastKey ? [userRest(message, userId, lastKey)] : []);
  if (!page.lastKey) return void await enqueue(rest);
  const cursor = page.lastKey as Record<string, string>;
  if (current === undefined) return void await enqueue([{ ...message, cursor }, ...rest]); // a message of an older version, before passes were named
  // Named before it is sent, so it never arrives unnamed; of two deliveries of this step, only the one that names it sends it.
  const step = successorOf(message.step ?? JSON.stringify(message.cursor));
  if (await advancePolicyPass(orgId, appId, current.passId, current.step, step, cursor)) await enqueue([{ ...message, cursor, step }, ...rest]);
}

type PolicyMessage = Extract<TokenMessage, { kind: 'policy' }>;
type PolicyUserMessage = Extract<TokenMessage, { kind: 'policy-user' }>;
const userRest = (message: PolicyMessage | PolicyUserMessage, userId: string, cursor: Record<string, unknown>): PolicyUserMessage => ({
  kind: 'policy-user', orgId: message.orgId, appId: message.appId, userId, policy: message.policy, cursor: cursor as Record<string, string>,
  ...(message.sessionTimeoutMinutes === undefined ? {} : { sessionTimeoutMinutes: message.sessionTimeoutMinutes }),
  ...(message.passId === undefined ? {} : { passId: message.passId }),
});

/**
 * The tokens of one user a policy pass is about (refresh tokens; every token under a session
 * timeout), one page of at most `limit`, re-decided under the app's policies (`settleUserTokens`).
 * Where the user's tokens go on, if they do.
 */
async function settleUserPage(message: PolicyMessage | PolicyUserMessage, userId: string, limit: number, startKey: Record<string, unknown> | undefined, now: number) {
  const everyToken = message.sessionTimeoutMinutes != null;
  const page = await listUserTokens(message.orgId, message.appId, userId, limit, startKey);
  const picked = page.items.filter((t) => everyToken || t.type === 'refresh').map((t) => t.lookupKey);
  const reports = await pMap(chunk(picked, MAX_TOKENS_PER_REMOVAL), (part) => settleUserTokens(message.orgId, message.appId, userId, part, now), { concurrency: 1 });
  return { userId, report: reports.reduce(addReports, emptyReport()), lastKey: page.lastKey };
}

/**
 * The rest of one user's tokens in a policy pass, a step's worth per message: while the pass is
 * the app's current one and the policy the one it enforces. Settling re-decides every token as it
 * is, so a duplicate of one of these messages changes nothing twice.
 */
async function enforcePolicyOnUser(message: PolicyUserMessage, now: number): Promise<void> {
  const { orgId, appId } = message;
  const [app, current] = await Promise.all([getAppWithCounters(orgId, appId), message.passId === undefined ? undefined : currentPolicyPass(orgId, appId)]);
  if (!app || !sameValue(app.policies.refreshTokenPolicy, message.policy)) return;
  if (current !== undefined && current.passId !== message.passId) return;
  if (message.sessionTimeoutMinutes !== undefined && message.sessionTimeoutMinutes !== app.policies.sessionTimeoutMinutes) return;
  const { report, lastKey } = await settleUserPage(message, message.userId, TOKENS_PER_STEP, message.cursor, now);
  logSettled(orgId, appId, report);
  if (lastKey) await enqueue([userRest(message, message.userId, lastKey)]);
}

/**
 * Looks again at some of one user's tokens for one app, as they are now. A token that is no
 * longer active is removed in one transaction pinned to what was read: tombstoned if it was
 * revoked (by a watermark or with its refresh token), deleted if it expired or fell out of the
 * refresh-token policy, and uncounted if it still counted. A refresh token's tombstone that is
 * due has its children checked once more (through the queue). A token not due after all moves to
 * its new due time (or out of the due index).
 */
export async function settleUserTokens(orgId: string, appId: string, userId: string, lookupKeys: string[], now: number): Promise<SettleReport> {
  if (lookupKeys.length > MAX_TOKENS_PER_REMOVAL) throw new RangeError(`At most ${MAX_TOKENS_PER_REMOVAL} tokens at once`);
  return retrying(async () => {
    const { shard: app, user, tokens } = await getTokenContext(orgId, appId, userId, lookupKeys);
    const report = emptyReport();
    if (!app) return report;
    const lineageOf = await readLineages(orgId, [...tokens.values()], tokens);
    const legacy = [...tokens.values()].filter((t) => t.revokedAt === null && grantRef(t)?.required === false && !lineageOf(t).grant);
    if (legacy.length) {
      // Tokens of an older version: adopted into their grants first, which hold their counts from then on.
      for (const token of legacy) await adoptLegacy(token, now);
      return RETRY;
    }
    const choices: RemovalChoice[] = [];
    const later: [Token, string | null][] = [];
    const checks: Token[] = [];
    for (const token of tokens.values()) {
      if (token.revokedAt !== null) {
        if (token.dueAt !== null && Date.parse(token.dueAt) <= now) checks.push(token);
        continue;
      }
      const cause = purgeCause(token, app, user, lineageOf(token), now);
      if (cause) {
        choices.push({ token, action: removalAction(cause, token, now) });
        report[cause] += 1;
      } else {
        const dueAt = sweepDueAt(token, app.policies);
        if (dueAt !== token.dueAt) later.push([token, dueAt]);
      }
    }
    const plan = planRemoval(user, app.revokeEpoch, choices, lineageOf);
    // What a policy removed is audited in the transaction that removes it: no event without the change, nor the other way.
    const event = report.policy + report.idle === 0 ? undefined : auditEvent({ orgId, sub: SWEEP_ACTOR }, 'policy.enforced', {
      appId, userId,
      details: {
        refreshTokensDeleted: report.policy, idleTokensDeleted: report.idle, expiredTokensDeleted: report.expired,
        refreshTokenPolicy: app.policies.refreshTokenPolicy, sessionTimeoutMinutes: app.policies.sessionTimeoutMinutes,
      },
    }, now, 'system');
    const result = await removeTokens({ user, appEpoch: app.revokeEpoch, at: iso(now), tokens: choices, ...plan, ...(event ? { event } : {}) });
    if (result === 'stale') return RETRY; // used or changed since read: decide again
    if (result === 'user-idle') await deactivateIfIdle(orgId, appId);
    await Promise.all(later.map(([token, dueAt]) => rescheduleToken(token, dueAt)));
    if (checks.length) {
      await enqueue(checks.map((t) => ({ kind: 'children' as const, orgId, appId, userId, tokenId: t.tokenId, cursor: null, final: true })));
    }
    report.rescheduled = later.length;
    report.tombstones = checks.length;
    return report;
  }, () => {
    logger.warn('Tokens kept changing while the sweep settled them; the next sweep tries again', { orgId, appId, userId });
    return emptyReport();
  });
}

/**
 * How a token that must go goes: revoked, a tombstone; past the expiry its caller gave, deleted
 * (registering it again is refused: `expiresAt` must be in the future); ended by a policy before
 * that (the session timeout, the refresh-token policy, the lifetime cap), a tombstone a policy left,
 * so the authorization server's retry of its registration cannot bring it back.
 */
function removalAction(cause: Exclude<keyof SettleReport, 'rescheduled' | 'tombstones'>, token: Token, now: number): RemovalAction {
  if (cause === 'revoked') return 'tombstone';
  const pastOwnExpiry = token.presentableUntil !== null && Date.parse(token.presentableUntil) <= now;
  return cause === 'expired' && pastOwnExpiry ? 'delete' : 'expire';
}

/** Why a live token must go now, or undefined if it is still active. */
function purgeCause(token: Token, app: AppShard, user: AppUser | undefined, lineage: Lineage, now: number): Exclude<keyof SettleReport, 'rescheduled' | 'tombstones'> | undefined {
  if (isRevoked(token, app.revokeEpoch, user, lineage)) return 'revoked';
  const expiry = effectiveExpiry(token, app.policies);
  if (expiry === null || expiry > now) return undefined;
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return 'expired';
  const idle = idleExpiry(token, app.policies);
  return idle !== null && idle <= now ? 'idle' : 'policy';
}

/** What the sweep (or a policy pass) settled in one app, for the logs (each user's `policy.enforced` was written with its removal). */
function logSettled(orgId: string, appId: string, report: SettleReport): void {
  if (report.expired + report.policy + report.idle + report.revoked + report.tombstones > 0) logger.info('sweep settled tokens', { orgId, appId, ...report });
}
