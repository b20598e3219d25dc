import * as v from 'valibot';
import { idSchema, listQueryShape, type Output, timestampSchema, trimmedBetween } from './common.js';

export const MAX_BULK_USERS = 1000;

/** POST /v1/apps/{appId}/revocations: Bulk Revoke (`userIds`) or every token of the app (`all`). */
export const revocationRequestSchema = v.pipe(
  v.strictObject({
    userIds: v.optional(v.pipe(
      v.array(idSchema), v.minLength(1), v.maxLength(MAX_BULK_USERS),
      v.check((ids) => new Set(ids).size === ids.length, 'must not repeat a userId'),
    )),
    all: v.optional(v.literal(true)),
    reason: v.optional(v.pipe(trimmedBetween(1, 1000), v.description('Why, for the audit log.'))),
    runAt: v.optional(v.pipe(timestampSchema, v.description('A future time, at most one year ahead: the job is scheduled.'))),
    dryRun: v.optional(v.pipe(v.boolean(), v.description('Answer 200 with what would be revoked; nothing changes.')), false),
  }),
  v.description('Exactly one of `userIds` (Bulk Revoke) or `all`.'),
  v.forward(v.check((r) => (r.userIds === undefined) !== (r.all === undefined), 'give exactly one of userIds or all'), ['userIds']),
);

export type RevocationRequest = Output<typeof revocationRequestSchema>;

/** Block, Unblock (and a user's): an optional reason for the audit log. */
export const reasonBodySchema = v.strictObject({
  reason: v.optional(v.pipe(trimmedBetween(1, 1000), v.description('Why, for the audit log.'))),
});

/** POST /v1/users/{userId}/revocations: an offboarding, of every app of the org. */
export const offboardingRequestSchema = v.strictObject({
  reason: v.optional(v.pipe(trimmedBetween(1, 1000), v.description('Why, for the audit log.'))),
  dryRun: v.optional(v.pipe(v.boolean(), v.description('Answer 200 with what would be revoked; nothing changes.')), false),
  block: v.optional(v.pipe(v.boolean(), v.description('Also deny the user new tokens (as `POST /v1/users/{userId}/block`), in the same transaction.')), false),
});

export const jobStatusSchema = v.picklist(['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = Output<typeof jobStatusSchema>;


export const listJobsQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  status: v.optional(jobStatusSchema),
});

/** The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header). */
const idempotencyKey = (description: string) => v.optional(v.pipe(
  v.string(), v.regex(/^[\x21-\x7E]{1,255}$/, 'must be 1–255 printable characters'), v.description(description),
));

export const idempotencyHeadersSchema = v.object({
  'idempotency-key': idempotencyKey('The same key with the same body answers the same job, however often it is retried (for a day); with another body, 422.'),
});

/** The header a one-token revocation accepts, as every revocation does; the call is idempotent by itself, so nothing is kept for it. */
export const oneTokenRevocationHeadersSchema = v.object({
  'idempotency-key': idempotencyKey('Accepted (and checked) as on every revocation. Revoking one token is idempotent by itself: a retry answers 204 again and is audited once, so the key needs no record.'),
});

