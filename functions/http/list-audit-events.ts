import { listAudit } from '../../shared/domain/audit.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { auditQuerySchema } from '../../shared/schemas/usage.js';
import { parse } from '../../shared/schemas/common.js';

/** The audit log, newest first; `?appId=` and `?userId=` narrow it. */
export const handler = httpRoute(routes.listAuditEvents, async ({ caller, query }) => {
  const { appId, userId, limit, cursor } = parse(auditQuerySchema, query, 'query');
  return json(200, await listAudit(caller.orgId, { appId, userId }, limit, cursor));
});
