import * as v from 'valibot';
import { counterSchema } from '../schemas/answers.js';
import { idSchema, userPathSchema } from '../schemas/common.js';
import { idempotencyHeadersSchema, offboardingRequestSchema, reasonBodySchema } from '../schemas/revocations.js';
import type { RouteDefinition } from './define.js';
import { jobExample, jobSchema } from './revocations.js';

// ---- Answers ----

/** A user's org-wide block state. */
export const userBlockSchema = v.object({
  userId: idSchema,
  blocked: v.pipe(v.boolean(), v.description('Denied new tokens in every app of the org.')),
});

/** An offboarding's dry run: what it would take now. */
export const offboardingDryRunSchema = v.object({
  appsAffected: v.pipe(counterSchema, v.description('Apps the user holds active tokens in.')),
  tokensAffected: counterSchema,
});

// ---- Routes ----

const reasonBody = { schema: reasonBodySchema, media: 'application/json', optional: true, example: { reason: 'Left the company' } } as const;
const changedTooOften = {
  description: '`conflict`: the user was changed concurrently too often; retry.',
  problems: [{ type: 'conflict', detail: 'The user was changed concurrently too often; retry the request' }],
} as const;

export const blockUser = {
  method: 'POST', path: '/v1/users/{userId}/block', handler: 'block-user', scopes: ['apps:manage'], table: 'RW',
  tag: 'users', summary: 'Deny the user new tokens in every app',
  description: 'From this call on, registrations for the user are 409 `user-blocked` in every app of the org, and JWTs of trusted issuers issued to them while blocked stay inactive (also once unblocked). Tokens they hold are untouched: offboard them (`POST /v1/users/{userId}/revocations`) to end those. Idempotent; audited as `user.blocked` when it changes something. Optional `{ reason }`.',
  input: { path: userPathSchema, body: reasonBody },
  answers: {
    200: { description: 'The user, blocked.', schema: userBlockSchema, example: { userId: 'ada@example.com', blocked: true } },
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const unblockUser = {
  method: 'POST', path: '/v1/users/{userId}/unblock', handler: 'unblock-user', scopes: ['apps:manage'], table: 'RW',
  tag: 'users', summary: 'Let the user be issued tokens again',
  description: 'Registrations for the user are taken again. JWTs of trusted issuers issued while they were blocked stay inactive: the user\'s time watermark moves to the unblock. Idempotent; audited as `user.unblocked` when it changes something. Optional `{ reason }`.',
  input: { path: userPathSchema, body: reasonBody },
  answers: {
    200: { description: 'The user, not blocked.', schema: userBlockSchema, example: { userId: 'ada@example.com', blocked: false } },
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

const offboardingExample = {
  ...jobExample, appId: null, target: { userId: 'ada@example.com' }, reason: 'Left the company', progress: { appsDone: 0, tokensRevoked: 0 },
} as const;

export const offboardUser = {
  method: 'POST', path: '/v1/users/{userId}/revocations', handler: 'offboard-user', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'users', summary: 'Offboard: revoke every token of the user in every app (202 job)',
  description: 'Every token of the user in every app of the org (registered and learned) is inactive when this returns, however many apps: one org-wide watermark per user, which introspection reads. The user is gone from every app\'s Usage by User and counts at once too; the job (`appId: null`, `target: { userId }`, `progress: { appsDone, tokensRevoked }`) cleans up items app by app. Tokens registered after the call are untouched. `{ "block": true }` also denies the user new tokens; `dryRun` answers 200 with the numbers; an `Idempotency-Key` makes a retry answer the same job.',
  input: {
    path: userPathSchema, headers: idempotencyHeadersSchema,
    body: { schema: offboardingRequestSchema, media: 'application/json', optional: true, example: { reason: 'Left the company', block: true } },
  },
  answers: {
    200: { description: 'Dry run: what would be revoked; nothing changed.', schema: offboardingDryRunSchema, example: { appsAffected: 3, tokensAffected: 7 } },
    202: { description: 'The job (its status at `Location`).', schema: jobSchema, headers: ['Location'], example: offboardingExample },
    409: {
      description: '`conflict`: the user or their apps changed concurrently too often; retry with the same `Idempotency-Key`.',
      problems: [{ type: 'conflict', detail: 'The user was changed concurrently too often; retry with the same Idempotency-Key' }],
    },
  },
} as const satisfies RouteDefinition;
