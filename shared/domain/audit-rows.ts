/**
 * The rows of an audit export. CSV (RFC 4180, CRLF, every value quoted) with the contract's
 * columns, a value that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
 * a tab or a carriage return: OWASP's CSV injection advice) prefixed with `'`, ids included; the
 * quoting keeps a separator inside a value from starting a cell. NDJSON: each event exactly as
 * the API shows it, one a line.
 */
import type { AuditEventView } from '../api/audit.js';
import type { AuditExportFormat } from '../model.js';

export const CSV_COLUMNS = ['eventId', 'at', 'actorSub', 'actorKind', 'action', 'appId', 'userId', 'tokenId', 'jobId', 'reason'] as const;

/** One CSV value: empty for null; quoted, with a formula's leading character defused. */
export function csvCell(value: string | null): string {
  if (value === null || value === '') return '';
  const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${defused.replaceAll('"', '""')}"`;
}

const csvRow = (e: AuditEventView) =>
  `${[e.eventId, e.at, e.actor.sub, e.actor.kind, e.action, e.appId, e.userId, e.tokenId, e.jobId, e.reason].map(csvCell).join(',')}\r\n`;

export const exportFormats: Record<AuditExportFormat, { extension: string; contentType: string; header: string; row: (e: AuditEventView) => string }> = {
  csv: { extension: 'csv', contentType: 'text/csv; charset=utf-8', header: `${CSV_COLUMNS.join(',')}\r\n`, row: csvRow },
  ndjson: { extension: 'ndjson', contentType: 'application/x-ndjson', header: '', row: (e) => `${JSON.stringify(e)}\n` },
};
