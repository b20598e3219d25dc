/**
 * The queue's message contract: what the API and the sweep send to the queue worker, and what the
 * worker accepts (anything else is dropped as malformed). Every message names its org.
 */
import * as z from 'zod/mini';
import { refreshTokenPolicySchema } from './schemas/apps.js';
import { idSchema } from './schemas/common.js';
import { jobIdSchema } from './schemas/revocations.js';
import { tokenIdSchema } from './schemas/tokens.js';
import { TOKEN_INDEX_SHARDS } from './db/table.js';

const lookupKeySchema = () => z.string().check(z.regex(/^(?:[1-9]\d{0,3}-)?[0-9a-f]{32}$/));
const passSchema = () => z.int().check(z.gte(0));
const batchSchema = () => z.int().check(z.gte(0));

/**
 * What the queue carries: a job to plan, or one step of its cleanup (all of one cleanup pass):
 * a batch of its users (Bulk Revoke) or a range of the app's token list (all tokens); tokens the sweep found due; the access tokens of a revoked refresh token; an app
 * whose refresh-token policy changed.
 */
export const queueMessageSchema = z.lazy(() => z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('plan'), orgId: idSchema, jobId: jobIdSchema, pass: passSchema() }),
  z.strictObject({ kind: z.literal('clean'), orgId: idSchema, jobId: jobIdSchema, pass: passSchema(), batch: batchSchema(), userIds: z.array(idSchema).check(z.minLength(1)) }),
  z.strictObject({
    kind: z.literal('clean-range'), orgId: idSchema, jobId: jobIdSchema, pass: passSchema(), batch: batchSchema(),
    range: z.strictObject({ shard: z.int().check(z.gte(0), z.lt(TOKEN_INDEX_SHARDS)), part: z.int().check(z.gte(0), z.lt(256)), parts: z.int().check(z.gte(1), z.lte(256)) }),
    cursor: z.nullable(z.record(z.string(), z.string())),
  }),
  z.strictObject({
    kind: z.literal('due'), orgId: idSchema, appId: idSchema,
    tokens: z.array(z.strictObject({ userId: idSchema, lookupKey: lookupKeySchema() })).check(z.minLength(1), z.maxLength(100)),
  }),
  z.strictObject({
    kind: z.literal('children'), orgId: idSchema, appId: idSchema, userId: idSchema, tokenId: tokenIdSchema,
    cursor: z.nullable(z.record(z.string(), z.string())),
    /** The sweep's check a day after the revocation: when it ends, the tombstone may expire. */
    final: z.boolean(),
  }),
  z.strictObject({
    kind: z.literal('policy'), orgId: idSchema, appId: idSchema, policy: refreshTokenPolicySchema,
    cursor: z.nullable(z.record(z.string(), z.string())),
  }),
]));
export type QueueMessage = z.output<typeof queueMessageSchema>;
export type JobMessage = Extract<QueueMessage, { kind: 'plan' | 'clean' | 'clean-range' }>;
export type TokenMessage = Extract<QueueMessage, { kind: 'due' | 'policy' | 'children' }>;

const jobKinds = new Set<QueueMessage['kind']>(['plan', 'clean', 'clean-range']);
export const isJobMessage = (message: QueueMessage): message is JobMessage => jobKinds.has(message.kind);
