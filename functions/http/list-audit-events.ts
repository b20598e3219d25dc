import { listAuditEvents } from '../../shared/api/audit.js';
import { listAudit } from '../../shared/domain/audit.js';
import { orgRoute } from '../../shared/org-route.js';

/** The audit log, newest first; `?appId=`, `?userId=`, `?action=`, `?actor=`, `?since=` and `?until=` narrow it. */
export const handler = orgRoute(listAuditEvents, async ({ caller, query: { appId, userId, action, actor, since, until, limit, cursor } }) => ({
  status: 200, body: await listAudit(caller.orgId, { appId, userId, actions: action, actor, since, until }, limit, cursor),
}));
