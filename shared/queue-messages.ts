/**
 * The queue's message contract: what the API and the sweep send to the queue worker, and what the
 * worker accepts (anything else is dropped as malformed). Every message names its org.
 */
import * as v from 'valibot';
import { refreshTokenPolicySchema } from './schemas/policies.js';
import { exportIdSchema, idSchema, jobIdSchema, type Output, tokenIdSchema } from './schemas/common.js';
import { TOKEN_INDEX_SHARDS } from './db/table.js';
import { CLIENT_USER_ID } from './model.js';

const lookupKeySchema = v.pipe(v.string(), v.regex(/^(?:[1-9]\d{0,3}-)?[0-9a-f]{32}$/));
const wholeNumber = (max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(max));
const cursorSchema = v.nullable(v.record(v.string(), v.string()));

/**
 * What the queue carries: a job to plan, or one step of its cleanup (all of one cleanup pass):
 * a batch of its users (Bulk Revoke) or a range of the app's token list (all tokens); tokens the sweep found due; the access tokens of a revoked refresh token; an app
 * whose refresh-token policy changed.
 */
/** A user id as stored: a real one, or the app's own client's (`CLIENT_USER_ID`). */
const storedUserIdSchema = v.union([idSchema, v.literal(CLIENT_USER_ID)]);

const isoTimeSchema = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/));

export const queueMessageSchema = v.variant('kind', [
  v.strictObject({
    /** One org's round of the sweep (on the sweep queue): its due jobs and tokens, and the buckets of its due markers the sweep found. */
    kind: v.literal('sweep-org'), orgId: idSchema,
    buckets: v.pipe(v.array(v.strictObject({ start: isoTimeSchema, end: isoTimeSchema })), v.maxLength(100)),
    /** A round of the org's due jobs alone, from where the round before stopped among them. */
    jobsCursor: v.optional(v.record(v.string(), v.string())),
    /** A round of the org's due tokens alone, of the chain of token rounds (its id) that holds the org's lease on them. */
    tokensChain: v.optional(v.pipe(v.string(), v.regex(/^[\w-]{1,64}$/))),
  }),
  v.strictObject({
    kind: v.literal('plan'), orgId: idSchema, jobId: jobIdSchema, pass: wholeNumber(),
    /** An offboarding's next plan step: the id of the message that claimed the planning, which it goes on under. */
    planner: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128))),
    /** An offboarding's next plan step: the steps recorded before it (it plans from there). */
    from: v.optional(wholeNumber()),
  }),
  v.strictObject({
    kind: v.literal('clean'), orgId: idSchema, jobId: jobIdSchema, pass: wholeNumber(), batch: wholeNumber(), userIds: v.pipe(v.array(idSchema), v.minLength(1)),
    /** An offboarding's step: the app it cleans (the user's only; absent: the job's own app). */
    appId: v.optional(idSchema),
    /** A batch goes on in parts when its users hold more tokens than a step reads (absent: its first). */
    part: v.optional(wholeNumber()),
    /** Users the part before left unfinished: where their tokens were left. */
    cursors: v.optional(v.record(idSchema, v.strictObject({ startKey: v.record(v.string(), v.string()) }))),
  }),
  v.strictObject({
    kind: v.literal('clean-range'), orgId: idSchema, jobId: jobIdSchema, pass: wholeNumber(), batch: wholeNumber(),
    range: v.strictObject({ shard: wholeNumber(TOKEN_INDEX_SHARDS - 1), part: wholeNumber(255), parts: v.pipe(wholeNumber(256), v.minValue(1)) }),
    cursor: cursorSchema,
  }),
  v.strictObject({
    /** A step of a personal-data erasure: the names in the users rows of a page of the org's apps, then in the user's links. */
    kind: v.literal('erase'), orgId: idSchema, jobId: jobIdSchema, pass: wholeNumber(), batch: wholeNumber(),
    phase: v.picklist(['rows', 'links']), cursor: cursorSchema,
    /** Rows whose name the steps before erased. */
    erased: wholeNumber(),
  }),
  v.strictObject({
    /** A step of an audit export: the export's step of this number (shared/domain/audit-exports.ts). */
    kind: v.literal('audit-export'), orgId: idSchema, exportId: exportIdSchema, step: wholeNumber(),
  }),
  v.strictObject({
    kind: v.literal('due'), orgId: idSchema, appId: idSchema,
    tokens: v.pipe(v.array(v.strictObject({ userId: storedUserIdSchema, lookupKey: lookupKeySchema })), v.minLength(1), v.maxLength(100)),
  }),
  v.strictObject({
    kind: v.literal('children'), orgId: idSchema, appId: idSchema, userId: storedUserIdSchema, tokenId: tokenIdSchema,
    cursor: cursorSchema,
    /** The sweep's check a day after the revocation: when it ends, the tombstone may expire. */
    final: v.boolean(),
  }),
  v.strictObject({
    /** The rest of one user's tokens in a policy pass, when the user holds more than a step reads. */
    kind: v.literal('policy-user'), orgId: idSchema, appId: idSchema, userId: storedUserIdSchema, policy: refreshTokenPolicySchema,
    cursor: v.record(v.string(), v.string()),
    sessionTimeoutMinutes: v.optional(v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(1)))),
    passId: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
  }),
  v.strictObject({
    kind: v.literal('policy'), orgId: idSchema, appId: idSchema, policy: refreshTokenPolicySchema, cursor: cursorSchema,
    /** The session timeout the pass enforces too (absent from an older version's messages: refresh tokens only). */
    sessionTimeoutMinutes: v.optional(v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(1)))),
    /** Which pass this is (the app's version after the change; absent from an older version's messages): a newer one ends it. */
    passId: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
    /** Which step of the pass this is (random; absent from an older version's messages): only the step the pass names next runs. */
    step: v.optional(v.pipe(v.string(), v.regex(/^[\w-]{1,64}$/))),
  }),
]);
export type QueueMessage = Output<typeof queueMessageSchema>;

/** A message as the queue delivered it (parsed JSON), checked against the contract; what is wrong with it otherwise. */
export function readQueueMessage(value: unknown): { message: QueueMessage } | { issues: { path: string | null; message: string }[] } {
  const result = v.safeParse(queueMessageSchema, value);
  return result.success ? { message: result.output } : { issues: result.issues.map((issue) => ({ path: v.getDotPath(issue), message: issue.message })) };
}
export type JobMessage = Extract<QueueMessage, { kind: 'plan' | 'clean' | 'clean-range' | 'erase' }>;
export type SweepOrgMessage = Extract<QueueMessage, { kind: 'sweep-org' }>;
export type TokenMessage = Extract<QueueMessage, { kind: 'due' | 'policy' | 'policy-user' | 'children' }>;
export type ExportMessage = Extract<QueueMessage, { kind: 'audit-export' }>;
/** The message of an export's next step. */
export const exportStepMessage = (exp: { orgId: string; exportId: string; step: number }): ExportMessage => ({ kind: 'audit-export', orgId: exp.orgId, exportId: exp.exportId, step: exp.step });

const jobKinds = new Set<QueueMessage['kind']>(['plan', 'clean', 'clean-range', 'erase']);
export const isJobMessage = (message: QueueMessage): message is JobMessage => jobKinds.has(message.kind);
