/**
 * What an audit export shows (GET /v1/audit-exports/{exportId}) and where its file is: apart from
 * the export's steps (audit-exports.ts), so the route that only reads an export loads no queue.
 */
import { getAuditExport } from '../db/audit-export.js';
import { NotFoundError } from '../errors.js';
import type { AuditExport, AuditExportFilters } from '../model.js';
import { EXPORT_FILES_PREFIX } from '../export-bucket.js';
import { exportFormats } from './audit-rows.js';

/** The filters as the API shows them (`action`, as the list takes it). */
export const filtersView = ({ appId, userId, actions, actor, since, until }: AuditExportFilters) => ({
  ...(appId === undefined ? {} : { appId }), ...(userId === undefined ? {} : { userId }), ...(actions ? { action: actions } : {}),
  ...(actor === undefined ? {} : { actor }), ...(since === undefined ? {} : { since }), until,
});

/** Where an export's file is, what it is called when downloaded, and its type. */
export function exportFile(exp: Pick<AuditExport, 'orgId' | 'exportId' | 'format'>) {
  const { extension, contentType } = exportFormats[exp.format];
  return { key: `${EXPORT_FILES_PREFIX}${encodeURIComponent(exp.orgId)}/${exp.exportId}.${extension}`, filename: `audit-${exp.exportId}.${extension}`, contentType };
}

/** GET /v1/audit-exports/{exportId}, with a fresh download link once it succeeded (`link` makes it). */
export async function auditExportOf(orgId: string, exportId: string, link: (exp: AuditExport) => Promise<string>) {
  const exp = await getAuditExport(orgId, exportId);
  if (!exp) throw new NotFoundError(`Audit export ${exportId}`);
  return auditExportView(exp, exp.status === 'succeeded' ? await link(exp) : null);
}

export function auditExportView(exp: AuditExport, downloadUrl: string | null = null) {
  return {
    exportId: exp.exportId, status: exp.status, format: exp.format, filters: filtersView(exp.filters), rows: exp.rows, bytes: exp.bytes,
    downloadUrl, requestedBy: exp.requestedBy, createdAt: exp.createdAt, startedAt: exp.startedAt, finishedAt: exp.finishedAt, error: exp.error,
  };
}
