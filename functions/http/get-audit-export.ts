import { getAuditExport as route } from '../../shared/api/audit.js';
import { auditExportOf, exportFile } from '../../shared/domain/audit-export-view.js';
import { downloadUrl } from '../../shared/export-download.js';
import { orgRoute } from '../../shared/org-route.js';

/** An audit export's progress, and a fresh 15-minute download link once it succeeded. */
export const handler = orgRoute(route, async ({ caller, path, now }) => ({
  status: 200, body: await auditExportOf(caller.orgId, path.exportId, (exp) => downloadUrl(exportFile(exp), now)),
}));
