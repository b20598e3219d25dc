/** How the CLI shows things to a person: tables, job lines, a progress bar (plain functions, tested without a terminal). */
import type { Schemas } from '@oauth-usage/client';

type Job = Schemas['RevocationJob'];

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '-';
  return typeof value === 'object' ? JSON.stringify(value) : `${value as string | number | boolean}`;
};

/** Columns padded to their widest cell, a header first; an empty list says so. */
export function table(items: Record<string, unknown>[], columns: string[]): string {
  if (items.length === 0) return '(none)\n';
  const rows = [columns, ...items.map((item) => columns.map((c) => cell(item[c])))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  return rows.map((row) => row.map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i] as number))).join('  ')).join('\n') + '\n';
}

/** How far a job is: users done of its target's users, when it names them. */
function counts(job: Job): { done: number; total: number | undefined; tokens: number } {
  const progress = job.progress as { usersDone?: number; appsDone?: number; tokensRevoked: number };
  const total = 'userIds' in job.target ? job.target.userIds.length : undefined;
  return { done: progress.usersDone ?? progress.appsDone ?? 0, total, tokens: progress.tokensRevoked };
}

/** One line about a job, as a log would carry it. */
export function jobLine(job: Job): string {
  const { done, total, tokens } = counts(job);
  const unit = 'appsDone' in job.progress ? 'apps' : 'users';
  return [job.jobId, job.status, `${done}${total === undefined ? '' : `/${total}`} ${unit}`, `${tokens} tokens revoked`, ...(job.error ? [job.error] : [])].join('  ');
}

/** A bar that fits `columns`: filled by users done when the total is known, else the counts alone. */
export function progressBar(job: Job, columns: number): string {
  const { done, total } = counts(job);
  const text = jobLine(job);
  const finished = job.status === 'succeeded';
  const width = Math.max(10, Math.min(40, columns - text.length - 4));
  if (total === undefined && !finished) return text.slice(0, Math.max(0, columns - 1));
  const ratio = finished ? 1 : Math.min(1, done / (total as number));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`.slice(0, Math.max(0, columns - 1));
}
