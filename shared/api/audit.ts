import * as v from 'valibot';
import { actorKinds, auditActions } from '../registries.js';
import { instantSchema, pageOf } from '../schemas/answers.js';
import type { Output } from '../schemas/common.js';
import { auditQuerySchema } from '../schemas/usage.js';
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
