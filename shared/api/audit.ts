import * as v from 'valibot';
import { actorKinds, auditActions } from '../registries.js';
import { counterSchema, instantSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import { exportPathSchema, type Output } from '../schemas/common.js';
import { idempotencyHeadersSchema } from '../schemas/revocations.js';
import { auditExportRequestSchema, auditQuerySchema } from '../schemas/usage.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

export const auditEventSchema = v.object({
  eventId: v.string(),
  at: instantSchema,
  actor: v.object({ sub: v.string(), kind: v.picklist(actorKinds) }),
  action: v.picklist(Object.keys(auditActions) as [keyof typeof auditActions, ...(keyof typeof auditActions)[]]),
  appId: v.nullable(v.string()),
  userId: v.nullable(v.string()),
  tokenId: v.nullable(v.string()),
  jobId: v.nullable(v.string()),
  reason: v.nullable(v.string()),
  details: v.record(v.string(), v.unknown()),
});

export const auditPageSchema = pageOf(auditEventSchema);
export type AuditEventView = Output<typeof auditEventSchema>;

// ---- Routes ----

export const listAuditEvents = {
  method: 'GET', path: '/v1/audit-events', handler: 'list-audit-events', scopes: ['usage:read'], table: 'RO',
  tag: 'audit', summary: 'The audit log, newest first',
  description: 'Narrowed by `?appId=`, `?userId=`, `?action=` (repeatable), `?actor=` (a `sub`), `?since=` (inclusive) and `?until=` (exclusive). Each page is one Query of the index of one filter (app and user, user, app, actor, a single action, or the whole log) between `since` and `until`; the other filters are applied to the events that Query read, so a page may hold fewer items than `limit`, none even, while `nextCursor` is not null. Events are never changed or deleted through the API.',
  input: { query: auditQuerySchema },
  answers: {
    200: {
      description: 'A page of events, newest first.', schema: auditPageSchema,
      example: {
        items: [{
          eventId: 'evt_00mx1hp3cpf0e3b17a98c4', at: '2026-11-28T16:30:00.000Z', actor: { sub: 'admin@example.com', kind: 'user' }, action: 'revocation.requested',
          appId: 'crm-sync', userId: null, tokenId: null, jobId: 'job_00mx1hp3cpf0e3b17a98c4', reason: 'Offboarding', details: { userCount: 2 },
        }],
        nextCursor: null,
      },
    },
    400: { description: '`validation-error`: a bad filter (an unknown action, a time that is not RFC 3339, `until` not after `since`), or a cursor of other filters.', problems: [{ type: 'validation-error', detail: 'query.action: must be audit actions: app.created, …' }] },
  },
} as const satisfies RouteDefinition;

export const auditExportSchema = v.object({
  exportId: v.string(),
  status: v.pipe(v.picklist(['queued', 'running', 'succeeded', 'failed']), v.description('`queued` until its first step runs; `running`; `succeeded` with `downloadUrl`; or `failed` with `error`.')),
  format: v.picklist(['csv', 'ndjson']),
  filters: v.pipe(v.object({
    appId: v.optional(v.string()), userId: v.optional(v.string()), action: v.optional(v.array(v.string())), actor: v.optional(v.string()),
    since: v.optional(instantSchema), until: instantSchema,
  }), v.description('The filters as given, `until` the request\'s time unless an earlier one was given: the export holds the events written before it was asked for.')),
  rows: v.pipe(counterSchema, v.description('Events written so far (the rows, the CSV header aside).')),
  bytes: v.pipe(v.nullable(counterSchema), v.description('The file\'s size, once it succeeded.')),
  downloadUrl: v.pipe(v.nullable(v.string()), v.description('Once it succeeded: the file, for 15 minutes from this answer, with no bearer token (ask again for a fresh link). Null before.')),
  requestedBy: v.string(),
  createdAt: instantSchema,
  startedAt: nullableInstant,
  finishedAt: nullableInstant,
  error: v.nullable(v.string()),
});
export type AuditExportView = Output<typeof auditExportSchema>;

const auditExportExample = {
  exportId: 'exp_00mx1hp3cpf0e3b17a98c4', status: 'queued', format: 'csv',
  filters: { appId: 'crm-sync', action: ['token.revoked', 'revocation.requested'], since: '2026-11-01T00:00:00.000Z', until: '2026-11-28T16:30:00.000Z' },
  rows: 0, bytes: null, downloadUrl: null, requestedBy: 'admin@example.com', createdAt: '2026-11-28T16:30:00.000Z', startedAt: null, finishedAt: null, error: null,
} as const;

const succeededExportExample = {
  ...auditExportExample, status: 'succeeded', rows: 1204, bytes: 190_311, startedAt: '2026-11-28T16:30:00.120Z', finishedAt: '2026-11-28T16:30:02.870Z',
  downloadUrl: 'https://oauth-usage-exports.s3.amazonaws.com/audit-exports/org_1/exp_00mx1hp3cpf0e3b17a98c4.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-Signature=…',
} as const;

export const createAuditExport = {
  method: 'POST', path: '/v1/audit-exports', handler: 'create-audit-export', scopes: ['usage:read'], table: 'RW', enqueues: true,
  tag: 'audit', summary: 'Export the audit log, CSV or NDJSON (202 job)',
  description: 'Writes every event the filters select (those of `GET /v1/audit-events`, `action` a list), newest first, to a file of any size, as a job: poll `Location` until `succeeded`, then fetch `downloadUrl`. The file holds the events written before the request (its `until` is pinned to the request\'s time), so its rows are the list\'s rows for the same filters. CSV has the columns `eventId, at, actorSub, actorKind, action, appId, userId, tokenId, jobId, reason`, every value quoted, and a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return prefixed with `\'` (OWASP\'s CSV injection advice; ids included): use NDJSON for exact values and `details`. Audited as `audit.exported`. An `Idempotency-Key` makes a retry answer the same export. Files and their records are kept a day after they finish.',
  input: {
    headers: idempotencyHeadersSchema,
    body: { schema: auditExportRequestSchema, media: 'application/json', example: { format: 'csv', filters: { appId: 'crm-sync', action: ['token.revoked', 'revocation.requested'], since: '2026-11-01T00:00:00Z' } } },
  },
  answers: {
    202: { description: 'The export, queued (its status at `Location`).', schema: auditExportSchema, headers: ['Location'], example: auditExportExample },
    400: { description: '`validation-error`: a bad format or filter (an unknown action, a time that is not RFC 3339, `until` not after `since`).', problems: [{ type: 'validation-error', detail: 'body.filters.until: must be after since' }] },
    409: { description: '`conflict`: the request collided with another too often; retry with the same `Idempotency-Key`.', problems: [{ type: 'conflict', detail: 'The request collided with another too often; retry with the same Idempotency-Key' }] },
    429: {
      description: '`too-many-requests`: the org has 10 exports queued or running; `rate-limited`: the org is over its admin budget (contract section 10, with the RateLimit header fields); or API Gateway\'s throttling (`{"message":"Too Many Requests"}`). Each with `Retry-After`.',
      problems: [
        { type: 'too-many-requests', detail: 'The org has 10 audit exports still running; retry when one has finished' },
        { type: 'rate-limited', detail: 'The org is over its admin budget of 20 requests a second; retry after 1 s' },
      ],
      headers: ['Retry-After', 'RateLimit-Policy', 'RateLimit'],
    },
  },
} as const satisfies RouteDefinition;

export const getAuditExport = {
  method: 'GET', path: '/v1/audit-exports/{exportId}', handler: 'get-audit-export', scopes: ['usage:read'], table: 'RO', exportFiles: 'read',
  tag: 'audit', summary: 'An audit export: its progress, and its download link once done',
  description: 'While it runs, `rows` says how many events it has written. Once `succeeded`, `downloadUrl` is the file for 15 minutes (deployed: an S3 presigned URL; locally: a URL of the local server carrying its own signature), needing no bearer token; each answer gives a fresh one.',
  input: { path: exportPathSchema },
  answers: {
    200: {
      description: 'The export.', schema: auditExportSchema,
      example: succeededExportExample,
    },
    404: { description: '`not-found`: no such export in the org (or kept no more).', problems: [{ type: 'not-found', detail: 'Audit export exp_00mx1hp3cpf0e3b17a98c4 not found' }] },
  },
} as const satisfies RouteDefinition;
