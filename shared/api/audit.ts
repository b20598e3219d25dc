import { pageOf } from '../schemas/common.js';
import { auditEventSchema, auditQuerySchema } from '../schemas/usage.js';
import { defineRoute } from './define.js';

export const listAuditEvents = defineRoute({
  method: 'GET', path: '/v1/audit-events', handler: 'list-audit-events', scopes: ['usage:read'], table: 'RO',
  tag: 'audit', summary: 'The audit log, newest first',
  description: 'The audit log, newest first; `?appId=` and `?userId=` narrow it. Events are never changed or deleted through the API.',
  input: { query: auditQuerySchema },
  answers: {
    200: {
      description: 'A page of events, newest first.', schema: pageOf(auditEventSchema),
      example: {
        items: [{
          eventId: 'evt_00mx1hp3cpf0e3b17a98c4', at: '2026-11-28T16:30:00.000Z', actor: { sub: 'admin@example.com', kind: 'user' }, action: 'revocation.requested',
          appId: 'crm-sync', userId: null, tokenId: null, jobId: 'job_00mx1hp3cpf0e3b17a98c4', reason: 'Offboarding', details: { userCount: 2 },
        }],
        nextCursor: null,
      },
    },
  },
});
