import * as z from 'zod/mini';
import { idSchema, listQueryShape, timestampSchema, trimmedBetween } from './common.js';

export const MAX_BULK_USERS = 1000;

/** POST /v1/apps/{appId}/revocations: Bulk Revoke (`userIds`) or every token of the app (`all`). */
export const revocationRequestSchema = z.lazy(() => z
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
  .check(z.refine((r) => (r.userIds === undefined) !== (r.all === undefined), { message: 'give exactly one of userIds or all', path: ['userIds'] })));

export type RevocationRequest = z.output<typeof revocationRequestSchema>;

export const jobStatusSchema = z.lazy(() => z.enum(['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled']));
export type JobStatus = z.output<typeof jobStatusSchema>;

export const jobIdSchema = z.lazy(() => z.string().check(z.regex(/^job_[0-9a-z]{10}[0-9a-f]{12}$/, 'must be a job id')));
export const jobPathSchema = z.lazy(() => z.strictObject({ jobId: jobIdSchema }));

export const listJobsQuerySchema = z.lazy(() => z.strictObject({
  ...listQueryShape(),
  appId: z.optional(idSchema),
  status: z.optional(jobStatusSchema),
}));

/** The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header). */
export const idempotencyKeySchema = z.lazy(() => z.optional(z.string().check(z.regex(/^[\x21-\x7E]{1,255}$/, 'must be 1–255 printable characters'))));
