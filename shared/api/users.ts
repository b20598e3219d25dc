import * as v from 'valibot';
import { counterSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import { booleanParameter, idSchema, listQueryShape, type Output, stringBetween, userPathSchema } from '../schemas/common.js';
import { idempotencyHeadersSchema, offboardingRequestSchema, reasonBodySchema } from '../schemas/revocations.js';
import type { RouteDefinition } from './define.js';
import { jobExample, jobSchema } from './revocations.js';

// ---- Answers ----

/** A user's org-wide block state. */
export const userBlockSchema = v.object({
  userId: idSchema,
  blocked: v.pipe(v.boolean(), v.description('Denied new tokens in every app of the org.')),
});

/** A user in the org's lists (GET /v1/users). */
export const orgUserSchema = v.object({
  userId: idSchema,
  userName: v.nullable(v.string()),
  appCount: v.pipe(counterSchema, v.description('Apps the user holds active tokens in.')),
  activeTokenCount: counterSchema,
  lastUsedAt: v.pipe(nullableInstant, v.description('The most recent use in any app.')),
  blocked: v.pipe(v.boolean(), v.description('Denied new tokens in every app of the org.')),
});
export type OrgUserView = Output<typeof orgUserSchema>;
export const orgUserPageSchema = pageOf(orgUserSchema);

export const listOrgUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  q: v.optional(v.pipe(stringBetween(1, 255), v.description('A prefix of the userId or of the whole userName, case-insensitive: the users whose id matches (by userId), then those whose name does (by name).'))),
  blocked: v.optional(v.pipe(booleanParameter, v.description('`true`: the blocked users, whether or not they hold tokens (25 a page at most).'))),
});

/** An offboarding's dry run: what it would take now. */
export const offboardingDryRunSchema = v.object({
  appsAffected: v.pipe(counterSchema, v.description('Apps the user holds active tokens in.')),
  tokensAffected: counterSchema,
});

// ---- Routes ----

export const listUsers = {
  method: 'GET', path: '/v1/users', handler: 'list-users', scopes: ['usage:read'], table: 'RO',
  tag: 'users', summary: 'The org\'s users holding active tokens (search by id or name)',
  description: 'Every user of the org holding at least one active token in some app, sorted by userId (case-insensitively), with the number of apps, their active tokens and their last use anywhere. `?q=` keeps the users whose userId or whole userName starts with it (case-insensitive): first those whose userId matches, by userId, then the others whose userName matches, by userName; `?blocked=true` lists the blocked users instead, whether or not they hold tokens. A page reads one Query (two with `q`) and the users\' rows, whatever the org\'s size; it may hold fewer items than `limit` while `nextCursor` is not null.',
  input: { query: listOrgUsersQuerySchema },
  answers: {
    200: {
      description: 'A page of users.', schema: orgUserPageSchema,
      example: { items: [{ userId: 'ada@example.com', userName: 'Ada Lovelace', appCount: 3, activeTokenCount: 7, lastUsedAt: '2026-11-28T16:30:00.000Z', blocked: false }], nextCursor: null },
    },
  },
} as const satisfies RouteDefinition;

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
  description: 'Registrations for the user are taken again. JWTs of trusted issuers issued while they were blocked (60 s either side: the issuer\'s clock is trusted to within that) stay inactive; those issued before the block or after the unblock are learned as usual. Idempotent; audited as `user.unblocked` when it changes something. Optional `{ reason }`.',
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

const erasureExample = { ...jobExample, kind: 'personal-data-erasure', appId: null, target: { userId: 'ada@example.com' }, reason: null, progress: { appsDone: 0, tokensRevoked: 0 } } as const;

export const erasePersonalData = {
  method: 'DELETE', path: '/v1/users/{userId}/personal-data', handler: 'erase-personal-data', scopes: ['apps:manage'], table: 'RW', enqueues: true,
  tag: 'users', summary: 'Erase the user\'s personal data (202 job)',
  description: 'Blanks the user\'s `userName` everywhere the service holds it: the user\'s usage row in every app (also apps where they hold no token any more), and their links to their apps (the org\'s users list and the searches by name find them no more). Tokens, jobs and audit events hold ids, never names; ids and counts stay (an id that is itself personal data, such as an email, is the authorization server\'s to replace). When the job (`kind: "personal-data-erasure"`, `appId: null`, `target: { userId }`) succeeds, every name held at the call is gone, and `user.personal-data.erased` is audited. A name the authorization server or a trusted issuer\'s tokens send after the call is stored again: stop sending it first. An `Idempotency-Key` makes a retry answer the same job.',
  input: { path: userPathSchema, headers: idempotencyHeadersSchema },
  answers: {
    202: {
      description: 'The job (its status at `Location`).', schema: jobSchema, headers: ['Location'],
      example: erasureExample,
    },
    409: {
      description: '`conflict`: the request collided with another too often; retry with the same `Idempotency-Key`.',
      problems: [{ type: 'conflict', detail: 'The request collided with another too often; retry with the same Idempotency-Key' }],
    },
  },
} as const satisfies RouteDefinition;
