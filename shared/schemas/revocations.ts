import * as z from 'zod/mini';
import { refreshTokenPolicySchema } from './apps.js';
import { idSchema, listQuerySchema, timestampSchema, trimmedBetween } from './common.js';
import { tokenIdSchema } from './tokens.js';

export const MAX_BULK_USERS = 1000;

/** POST /v1/apps/{appId}/revocations: Bulk Revoke (`userIds`) or every token of the app (`all`). */
export const revocationRequestSchema = z
  .strictObject({
    userIds: z.optional(z.array(idSchema).check(
      z.minLength(1), z.maxLength(MAX_BULK_USERS),
      z.refine((ids) => new Set(ids).size === ids.length, 'must not repeat a userId'),
    )),
    all: z.optional(z.literal(true)),
    reason: z.optional(trimmedBetween(1, 1000)),
    runAt: z.optional(timestampSchema),
    dryRun: z._default(z.boolean(), false),
  })
  .check(z.refine((r) => (r.userIds === undefined) !== (r.all === undefined), { message: 'give exactly one of userIds or all', path: ['userIds'] }));

export type RevocationRequest = z.output<typeof revocationRequestSchema>;

export const jobStatusSchema = z.enum(['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.output<typeof jobStatusSchema>;

export const jobIdSchema = z.string().check(z.regex(/^job_[0-9a-z]{10}[0-9a-f]{12}$/, 'must be a job id'));
export const jobPathSchema = z.strictObject({ jobId: jobIdSchema });

export const listJobsQuerySchema = z.extend(listQuerySchema, {
  appId: z.optional(idSchema),
  status: z.optional(jobStatusSchema),
});

/** The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header). */
export const idempotencyKeySchema = z.optional(z.string().check(z.regex(/^[\x21-\x7E]{1,255}$/, 'must be 1–255 printable characters')));

const lookupKeySchema = z.string().check(z.regex(/^(?:[1-9]\d{0,3}-)?[0-9a-f]{32}$/));
const passSchema = z.int().check(z.gte(0));

/**
 * What the queue carries: a job to plan, or one batch of its users to clean up (both of one
 * cleanup pass); tokens the sweep found due; the access tokens of a revoked refresh token; an app
 * whose refresh-token policy changed.
 */
export const queueMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('plan'), orgId: idSchema, jobId: jobIdSchema, pass: passSchema }),
  z.strictObject({ kind: z.literal('clean'), orgId: idSchema, jobId: jobIdSchema, pass: passSchema, batch: z.int().check(z.gte(0)), userIds: z.array(idSchema).check(z.minLength(1)) }),
  z.strictObject({
    kind: z.literal('due'), orgId: idSchema, appId: idSchema,
    tokens: z.array(z.strictObject({ userId: idSchema, lookupKey: lookupKeySchema })).check(z.minLength(1), z.maxLength(100)),
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
]);
export type QueueMessage = z.output<typeof queueMessageSchema>;
export type JobMessage = Extract<QueueMessage, { kind: 'plan' | 'clean' }>;
export type TokenMessage = Extract<QueueMessage, { kind: 'due' | 'policy' | 'children' }>;
