import { z } from 'zod';
import { idSchema, listQuerySchema, timestampSchema } from './common.js';

export const MAX_BULK_USERS = 1000;

/** POST /v1/apps/{appId}/revocations: Bulk Revoke (`userIds`) or every token of the app (`all`). */
export const revocationRequestSchema = z
  .strictObject({
    userIds: z.array(idSchema).min(1).max(MAX_BULK_USERS)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a userId')
      .optional(),
    all: z.literal(true).optional(),
    reason: z.string().trim().min(1).max(1000).optional(),
    runAt: timestampSchema.optional(),
    dryRun: z.boolean().default(false),
  })
  .refine((r) => (r.userIds === undefined) !== (r.all === undefined), { message: 'give exactly one of userIds or all', path: ['userIds'] });

export type RevocationRequest = z.output<typeof revocationRequestSchema>;

export const jobStatusSchema = z.enum(['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.output<typeof jobStatusSchema>;

export const jobIdSchema = z.string().regex(/^job_[0-9a-z]{10}[0-9a-f]{12}$/, 'must be a job id');
export const jobPathSchema = z.strictObject({ jobId: jobIdSchema });

export const listJobsQuerySchema = listQuerySchema.extend({
  appId: idSchema.optional(),
  status: jobStatusSchema.optional(),
});

/** The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header). */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7E]{1,255}$/, 'must be 1–255 printable characters').optional();

/** What the queue carries: a job to plan, or one batch of its users to clean up. */
export const queueMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('plan'), orgId: idSchema, jobId: jobIdSchema }),
  z.strictObject({ kind: z.literal('clean'), orgId: idSchema, jobId: jobIdSchema, batch: z.number().int().min(0), userIds: z.array(idSchema).min(1) }),
]);
export type QueueMessage = z.output<typeof queueMessageSchema>;
