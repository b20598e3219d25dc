import * as v from 'valibot';
import { idSchema, userPathSchema } from '../schemas/common.js';
import { reasonBodySchema } from '../schemas/revocations.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

/** A user's org-wide block state. */
export const userBlockSchema = v.object({
  userId: idSchema,
  blocked: v.pipe(v.boolean(), v.description('Denied new tokens in every app of the org.')),
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
