import { listAuditEvents } from '../../shared/api/audit.js';
import { listAudit } from '../../shared/domain/audit.js';
import { orgRoute } from '../../shared/org-route.js';

/** The audit log, newest first; `?appId=` and `?userId=` narrow it. */
export const handler = orgRoute(listAuditEvents, async ({ caller, query: { appId, userId, limit, cursor } }) => ({
  status: 200, body: await listAudit(caller.orgId, { appId, userId }, limit, cursor),
}));
