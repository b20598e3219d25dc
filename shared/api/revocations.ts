import * as v from 'valibot';
import { counterSchema, instantSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import {
  appPathSchema, clientTokenPathSchema, idSchema, jobIdSchema, jobPathSchema, type Output, tokenPathSchema, userTokensPathSchema,
} from '../schemas/common.js';
import { idempotencyHeadersSchema, oneTokenRevocationHeadersSchema, jobStatusSchema, listJobsQuerySchema, MAX_BULK_USERS, reasonBodySchema, revocationRequestSchema } from '../schemas/revocations.js';
import { appDetailSchema, appExample } from './apps.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

export const jobSchema = v.object({
  jobId: jobIdSchema,
  kind: v.pipe(v.picklist(['revocation', 'personal-data-erasure']), v.description('What the job does: revoke tokens, or blank a user\'s personal data (DELETE /v1/users/{userId}/personal-data; it revokes nothing).')),
  appId: v.pipe(v.nullable(idSchema), v.description('The app; null for an offboarding or an erasure (every app of the org).')),
  target: v.union([
    v.strictObject({ all: v.literal(true) }),
    v.strictObject({ userIds: v.pipe(v.array(idSchema), v.minLength(1), v.maxLength(MAX_BULK_USERS)) }),
    v.pipe(v.strictObject({ userId: idSchema }), v.description('An offboarding or an erasure: the user, in every app.')),
  ]),
  status: jobStatusSchema,
  runAt: v.pipe(nullableInstant, v.description('When a scheduled job starts; null when it started at once.')),
  createdAt: instantSchema,
  startedAt: nullableInstant,
  finishedAt: nullableInstant,
  requestedBy: v.pipe(v.string(), v.description('The `sub` of the admin who asked.')),
  reason: v.nullable(v.string()),
  progress: v.pipe(v.union([
    v.strictObject({ usersDone: counterSchema, tokensRevoked: counterSchema }),
    v.strictObject({ appsDone: counterSchema, tokensRevoked: counterSchema }),
  ]), v.description(
    'Bulk and user jobs: the users and tokens cleaned up so far, batch by batch. All-tokens jobs: the users and tokens the revocation took, exactly (what it zeroed on the app\'s counters), set when the job is planned; the cleanup then runs until `status` is `succeeded`. An offboarding: `{ appsDone, tokensRevoked }`, the apps cleaned up so far and their tokens. An erasure: `{ appsDone, tokensRevoked: 0 }`, the apps whose usage row held the user\'s name, once it ends.',
  )),
  error: v.nullable(v.string()),
});

/** A dry run: what the revocation would take now. */
export const dryRunSchema = v.object({ usersAffected: counterSchema, tokensAffected: counterSchema });

export const jobPageSchema = pageOf(jobSchema);

export type JobView = Output<typeof jobSchema>;

export const jobExample = {
  jobId: 'job_00mx1hp3cpf0e3b17a98c4', kind: 'revocation', appId: 'crm-sync', target: { userIds: ['ada@example.com', 'grace@example.com'] }, status: 'queued',
  runAt: null, createdAt: '2026-11-28T16:30:00.000Z', startedAt: null, finishedAt: null, requestedBy: 'admin@example.com', reason: 'Offboarding',
  progress: { usersDone: 0, tokensRevoked: 0 }, error: null,
} as const;

// ---- Routes ----

const perOrgLimit = {
  description: 'A per-org limit (problem type `too-many-requests`, with `Retry-After`), or API Gateway\'s throttling (`{"message":"Too Many Requests"}`).',
  problems: [{ type: 'too-many-requests', detail: 'The app has 25 revocations queued or running; wait for one to finish' }],
  headers: ['Retry-After'],
} as const;
const noSuchJob = { description: '`not-found`: no such job in the caller\'s org.', problems: [{ type: 'not-found', detail: 'Revocation job job_00mx1hp3cpf0e3b17a98c4 was not found' }] } as const;

export const revokeUserTokens = {
  method: 'DELETE', path: '/v1/apps/{appId}/users/{userId}/tokens', handler: 'revoke-user-tokens', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'revocation', summary: 'Revoke one user\'s tokens for the app (202 job)',
  description: '**Revoke** (Usage by User): every token of the user for the app is inactive when this returns; the job cleans up items and counts after. An `Idempotency-Key` makes a retry (or a double click) answer the same job.',
  input: { path: userTokensPathSchema, headers: idempotencyHeadersSchema },
  answers: {
    202: { description: 'The job (its status at `Location`).', schema: jobSchema, headers: ['Location'], example: () => ({ ...jobExample, target: { userIds: ['ada@example.com'] }, reason: null }) },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
    409: { description: '`conflict`: the user was changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The app or its users changed concurrently too often; retry the request' }] },
    429: perOrgLimit,
  },
} as const satisfies RouteDefinition;

export const revokeToken = {
  method: 'DELETE', path: '/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', handler: 'revoke-token', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'revocation', summary: 'Revoke one token (a refresh token takes its access tokens)',
  description: 'Revoke one token (204): inactive when the call returns; a refresh token takes its access tokens; recorded as `token.revoked`.',
  input: { path: tokenPathSchema, headers: oneTokenRevocationHeadersSchema },
  answers: {
    204: { description: 'Revoked (also when it already was); its access tokens too, for a refresh token.' },
    404: { description: '`not-found`: no such app, user or token in the caller\'s org.', problems: [{ type: 'not-found', detail: 'Token kK8p3Qm0ZrX2bYc4dE6fGA was not found' }] },
    409: { description: '`conflict`: the token or its user was changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The token or its user was changed concurrently too often; retry the request' }] },
  },
} as const satisfies RouteDefinition;

export const revokeClientToken = {
  method: 'DELETE', path: '/v1/apps/{appId}/client-tokens/{tokenId}', handler: 'revoke-client-token', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'revocation', summary: 'Revoke one of the app\'s own tokens (client credentials)',
  description: 'The same as revoking a user\'s token, for a token registered without a `userId` (204; a refresh token takes its grant); recorded as `token.revoked`.',
  input: { path: clientTokenPathSchema, headers: oneTokenRevocationHeadersSchema },
  answers: {
    204: { description: 'Revoked.' },
    404: { description: '`not-found`: no such app, or no such token of the app\'s own client.', problems: [{ type: 'not-found', detail: 'Token kK8p3Qm0ZrX2bYc4dE6fGA was not found' }] },
    409: { description: '`conflict`: the token was changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The token or its user was changed concurrently too often; retry the request' }] },
  },
} as const satisfies RouteDefinition;

export const requestRevocation = {
  method: 'POST', path: '/v1/apps/{appId}/revocations', handler: 'request-revocation', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'revocation', summary: 'Bulk Revoke (userIds) or every token of the app (all)',
  description: '**Bulk Revoke** `{ "userIds": [1–1000] }` or every token `{ "all": true }`; `reason`, `runAt`, `dryRun`; `Idempotency-Key` header: 202 job (`Location`), or 200 for a dry run.',
  input: {
    path: appPathSchema,
    headers: idempotencyHeadersSchema,
    body: {
      schema: revocationRequestSchema, media: 'application/json',
      example: { userIds: ['ada@example.com', 'grace@example.com'], reason: 'Offboarding' },
    },
  },
  answers: {
    200: { description: 'Dry run: what would be revoked; nothing changed.', schema: dryRunSchema, example: { usersAffected: 2, tokensAffected: 5 } },
    202: { description: 'The job: queued (inactive at once) or scheduled (`runAt`). Its status is at `Location`.', schema: jobSchema, headers: ['Location'], example: jobExample },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
    409: {
      description: '`conflict`: users changed concurrently too often; retry with the same `Idempotency-Key`.',
      problems: [{ type: 'conflict', detail: 'Users changed concurrently too often; retry with the same Idempotency-Key to finish revoking them' }],
    },
    429: perOrgLimit,
  },
} as const satisfies RouteDefinition;

export const listRevocationJobs = {
  method: 'GET', path: '/v1/revocation-jobs', handler: 'list-revocation-jobs', scopes: ['usage:read'], table: 'RO',
  tag: 'revocation', summary: 'Jobs, newest first',
  description: '`?appId=` and `?status=` narrow the list.',
  input: { query: listJobsQuerySchema },
  answers: { 200: { description: 'A page of jobs, newest first.', schema: jobPageSchema, example: { items: [jobExample], nextCursor: null } } },
} as const satisfies RouteDefinition;

export const getRevocationJob = {
  method: 'GET', path: '/v1/revocation-jobs/{jobId}', handler: 'get-revocation-job', scopes: ['usage:read'], table: 'RO',
  tag: 'revocation', summary: 'A job\'s status and progress',
  input: { path: jobPathSchema },
  answers: {
    200: {
      description: 'The job.', schema: jobSchema,
      example: () => ({ ...jobExample, status: 'succeeded', startedAt: '2026-11-28T16:30:00.000Z', finishedAt: '2026-11-28T16:30:02.000Z', progress: { usersDone: 2, tokensRevoked: 5 } }),
    },
    404: noSuchJob,
  },
} as const satisfies RouteDefinition;

export const cancelRevocationJob = {
  method: 'DELETE', path: '/v1/revocation-jobs/{jobId}', handler: 'cancel-revocation-job', scopes: ['apps:manage'], table: 'RW',
  tag: 'revocation', summary: 'Cancel a scheduled job (409 once it started)',
  input: { path: jobPathSchema },
  answers: {
    200: {
      description: 'Cancelled (also when it already was).', schema: jobSchema,
      example: () => ({ ...jobExample, status: 'cancelled', runAt: '2026-11-29T23:00:00.000Z', finishedAt: '2026-11-28T16:30:00.000Z' }),
    },
    404: noSuchJob,
    409: { description: '`conflict`: the job already started; only a scheduled job can be cancelled.', problems: [{ type: 'conflict', detail: 'The job is running; only a scheduled job can be cancelled' }] },
  },
} as const satisfies RouteDefinition;

/** Block's answer: the app as it is now, and the job that cleans up what the block revoked (null: it was blocked already). */
export const blockAnswerSchema = v.object({ app: appDetailSchema, job: v.nullable(jobSchema) });
export const unblockAnswerSchema = v.object({ app: appDetailSchema });

const reasonBody = { schema: reasonBodySchema, media: 'application/json', optional: true, example: { reason: 'Vendor contract ended' } } as const;
const blockedExample = { ...appExample, userCount: 0, activeTokenCount: 0, blocked: true } as const;

export const blockApp = {
  method: 'POST', path: '/v1/apps/{appId}/block', handler: 'block-app', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'revocation', summary: 'Block the app: revoke every token and refuse new ones until unblocked',
  description: '**Block** (the Connected Apps page\'s Block). Every token of the app (registered, the client\'s own, learned) is inactive when this returns, and from this call on registrations for the app are 409 `app-blocked`; the job cleans up items and counts. The block and the revocation are one transaction: both or neither. Optional `{ reason }`; `Idempotency-Key` answers the same job on a retry. Blocked already: 200 with `job: null`, nothing new.',
  input: { path: appPathSchema, headers: idempotencyHeadersSchema, body: reasonBody },
  answers: {
    200: { description: 'Blocked already: nothing changed.', schema: blockAnswerSchema, example: { app: blockedExample, job: null } },
    202: {
      description: 'Blocked; the job cleans up (its status at `Location`).', schema: blockAnswerSchema, headers: ['Location'],
      example: () => ({ app: blockedExample, job: { ...jobExample, target: { all: true }, reason: 'Vendor contract ended' } }),
    },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
    409: { description: '`conflict`: the app was changed concurrently too often; retry with the same `Idempotency-Key`.', problems: [{ type: 'conflict', detail: 'The app or its users changed concurrently too often; retry the request' }] },
  },
} as const satisfies RouteDefinition;

export const unblockApp = {
  method: 'POST', path: '/v1/apps/{appId}/unblock', handler: 'unblock-app', scopes: ['apps:manage'], table: 'RW',
  tag: 'revocation', summary: 'Unblock the app: it takes new tokens again',
  description: 'Registrations are taken again. Tokens the block revoked stay revoked, and so do JWTs of trusted issuers issued while it was blocked (the app\'s time watermark moves to the unblock). Optional `{ reason }`. Not blocked: 200, nothing new.',
  input: { path: appPathSchema, body: reasonBody },
  answers: {
    200: { description: 'The app, unblocked.', schema: unblockAnswerSchema, example: { app: appExample } },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
    409: { description: '`conflict`: the app was changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The app was changed concurrently too often; retry the request' }] },
  },
} as const satisfies RouteDefinition;
