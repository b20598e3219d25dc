import { createAuditExport as route } from '../../shared/api/audit.js';
import { auditExportView } from '../../shared/domain/audit-export-view.js';
import { requestAuditExport } from '../../shared/domain/audit-exports.js';
import { orgRoute } from '../../shared/org-route.js';

/** An export of the audit log, as a job: 202 and where to follow it. */
export const handler = orgRoute(route, async ({ caller, body, headers, now }) => {
  const exp = await requestAuditExport(caller, body, headers['idempotency-key'], now);
  return { status: 202, body: auditExportView(exp), headers: { Location: `/v1/audit-exports/${exp.exportId}` } };
});
