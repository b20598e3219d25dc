import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import { auditActions } from '../../../shared/registries.js';
import { api, ApiError, enc } from '../api.js';
import { count, ErrorNotice, Time, useLoad, usePaging, usePolling, scrollingTable } from '../ui.js';

type Action = keyof typeof auditActions;
const actions = Object.keys(auditActions) as Action[];
/** The filters, as the page's URL holds them (`since` and `until` as UTC instants): Back, reload and a shared link keep them. */
interface Filter { appId: string; userId: string; action: Action | ''; actor: string; since: string; until: string }
const FIELDS = ['appId', 'userId', 'action', 'actor', 'since', 'until'] as const;

const filterOf = (query: Record<string, string>): Filter => {
  const action = actions.includes(query.action as Action) ? (query.action as Action) : '';
  return { appId: query.appId ?? '', userId: query.userId ?? '', action, actor: query.actor ?? '', since: query.since ?? '', until: query.until ?? '' };
};
const searchOf = (filter: Filter, extra: Record<string, string> = {}) => {
  const params = new URLSearchParams([...FIELDS.flatMap((name) => (filter[name] ? [[name, filter[name]]] : [])), ...Object.entries(extra)]);
  const search = params.toString();
  return search ? `/audit?${search}` : '/audit';
};

/** The time zone `datetime-local` fields mean: the browser's. */
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const pad = (n: number) => String(n).padStart(2, '0');
/** A `datetime-local` value (the browser's time zone) as an RFC 3339 instant; empty (or not a time) stays unset. */
const toInstant = (local: string) => {
  const at = local ? new Date(local) : undefined;
  return at && Number.isFinite(at.getTime()) ? at.toISOString() : '';
};
/** An instant as a `datetime-local` value in the browser's time zone. */
const toLocal = (instant: string) => {
  const at = new Date(instant);
  if (!instant || !Number.isFinite(at.getTime())) return '';
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
};
/** The form's fields as typed (times local), from a filter and back. */
const draftOf = (f: Filter): Filter => ({ ...f, since: toLocal(f.since), until: toLocal(f.until) });
const appliedOf = (d: Filter): Filter => ({
  appId: d.appId.trim(), userId: d.userId.trim(), action: d.action, actor: d.actor.trim(), since: toInstant(d.since), until: toInstant(d.until),
});
/** The filters as the API takes them: the list's query, or an export's body. */
const apiFilters = (f: Filter) => ({
  appId: f.appId || undefined, userId: f.userId || undefined, actor: f.actor || undefined, since: f.since || undefined, until: f.until || undefined,
  action: f.action ? [f.action] : undefined,
});
const events = (n: number) => `${count(n)} event${n === 1 ? '' : 's'}`;

/** The audit log, newest first, filtered by app, user, action, actor and time; exported as CSV or NDJSON. */
export function AuditPage() {
  const { query, route } = useLocation();
  const filter = filterOf(query);
  const key = searchOf(filter);
  const [draft, setDraft] = useState(() => draftOf(filter));
  useEffect(() => setDraft(draftOf(filter)), [key]); // Back, Forward or a link changed the filters
  const { cursor, pager } = usePaging(key);
  const list = useLoad(() => api('get', '/v1/audit-events', { query: { ...apiFilters(filter), cursor, limit: 50 } }).then((r) => r.body), [key, cursor]);
  const input = (name: keyof Filter) => ({ id: `audit-${name}`, name, value: draft[name], onInput: (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [name]: e.currentTarget.value }) });
  const filtered = key !== '/audit';
  // What the form holds differs from the filters applied (compared as both would be sent: to the minute, as instants).
  const draftChanged = searchOf(appliedOf(draft)) !== searchOf(appliedOf(draftOf(filter)));
  const apply = () => route(searchOf(appliedOf(draft)));
  return (
    <section>
      <h1>Audit log</h1>
      <form class="filters" aria-label="Filter the audit log" onSubmit={(e) => { e.preventDefault(); apply(); }}>
        <div class="filter"><label for="audit-appId">App</label><input {...input('appId')} placeholder="App id" /></div>
        <div class="filter"><label for="audit-userId">User</label><input {...input('userId')} placeholder="User id" /></div>
        <div class="filter">
          <label for="audit-action">Action</label>
          <select {...input('action')} onChange={(e) => setDraft({ ...draft, action: e.currentTarget.value as Action | '' })}>
            <option value="">Any action</option>
            {actions.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </div>
        <div class="filter"><label for="audit-actor">Actor</label><input {...input('actor')} placeholder="Who (sub)" /></div>
        <div class="filter">
          <label for="audit-since">From</label>
          <input {...input('since')} type="datetime-local" min="1970-01-01T00:00" max={draft.until || '9999-12-31T23:59'} aria-describedby="audit-zone" />
        </div>
        <div class="filter">
          <label for="audit-until">Before</label>
          <input {...input('until')} type="datetime-local" min={draft.since || '1970-01-01T00:00'} max="9999-12-31T23:59" aria-describedby="audit-zone" />
        </div>
        <small id="audit-zone" class="hint">Times are your time zone's ({zone}); the log and its exports give them in UTC.</small>
        <div class="actions">
          <button type="submit">Filter</button>
          {/* Kept in place (aria-disabled) so focus never falls to the page when it has nothing to clear. */}
          <button type="button" class="secondary" aria-disabled={!filtered} onClick={() => { if (filtered) route('/audit'); }}>Clear</button>
        </div>
      </form>
      <AuditExporter filter={filter} exportId={query.export} draftChanged={draftChanged}
        onStarted={(exportId, applied) => route(searchOf(applied, { export: exportId }))} applyDraft={() => appliedOf(draft)} />
      {list.error ? <ErrorNotice error={list.error} retry={list.reload} /> : (
        <div {...scrollingTable('Audit events')} aria-busy={list.loading}>
          <table>
            <caption class="visually-hidden">Audit events</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">App</th><th scope="col">User</th><th scope="col">Reason</th></tr></thead>
            <tbody>
              {list.data?.items.map((e) => (
                <tr key={e.eventId}>
                  <th scope="row"><Time iso={e.at} /></th>
                  <td>{e.actor.sub}{e.actor.kind === 'system' && <small>system</small>}</td>
                  <td><code>{e.action}</code></td>
                  <td>{e.appId ? <a href={`/apps/${enc(e.appId)}`}>{e.appId}</a> : ''}</td>
                  <td>{e.userId ?? ''}</td>
                  <td>{e.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {/* Filters other than the index's are applied to each page read: a page may be empty while more follow. */}
          {list.data && list.data.items.length === 0 && <p class="empty">{list.data.nextCursor ? 'None on this page; more may follow.' : `No events${filtered ? ' match these filters' : ' yet'}.`}</p>}
          {list.data && pager(list.data.nextCursor)}
        </div>
      )}
    </section>
  );
}

/** Polls that fail for a while (a network blip, a 5xx or 429) are retried this much later at most. */
const POLL_MS = 700;
const MAX_POLL_MS = 5000;

/**
 * Export: the events the filters select (the form's, applied first if changed), as a job whose
 * progress is shown until its file can be downloaded. The export's id is in the URL, so leaving
 * the page and coming back (or reloading) finds it again.
 */
function AuditExporter({ filter, exportId, draftChanged, onStarted, applyDraft }: {
  filter: Filter; exportId: string | undefined; draftChanged: boolean;
  onStarted: (exportId: string, applied: Filter) => void; applyDraft: () => Filter;
}) {
  const [format, setFormat] = useState<'csv' | 'ndjson'>('csv');
  const polled = usePolling(exportId, async (id) => (await api('get', '/v1/audit-exports/{exportId}', { path: { exportId: id } })).body,
    (x) => x.status === 'succeeded' || x.status === 'failed', { intervalMs: POLL_MS, maxIntervalMs: MAX_POLL_MS });
  const job = polled.value;
  // What asking for an export or a download link answered (the polling's own refusal is polled.error).
  const [actionError, setActionError] = useState<ApiError>();
  useEffect(() => setActionError(undefined), [exportId]);
  const error = actionError ?? polled.error;
  const [pending, setPending] = useState(false);
  // One key per export asked for: a retry of the same request (a lost answer) answers the same export.
  const requestKey = useRef<{ body: string; key: string } | undefined>(undefined);
  const running = pending || (exportId !== undefined && !error && (job === undefined || job.status === 'queued' || job.status === 'running'));
  const start = async () => {
    if (running) return;
    setPending(true);
    setActionError(undefined);
    try {
      const applied = draftChanged ? applyDraft() : filter;
      const request = { format, filters: apiFilters(applied) };
      const body = JSON.stringify(request);
      if (requestKey.current?.body !== body) requestKey.current = { body, key: crypto.randomUUID() };
      const { body: created } = await api('post', '/v1/audit-exports', { body: request, headers: { 'idempotency-key': requestKey.current.key } });
      requestKey.current = undefined;
      onStarted(created.exportId, applied);
    } catch (e) {
      setActionError(e instanceof ApiError ? e : new ApiError(0, undefined));
    } finally {
      setPending(false);
    }
  };
  // A link lasts 15 minutes: each click asks for a fresh one.
  const download = async (e: MouseEvent) => {
    if (!job) return;
    e.preventDefault();
    e.stopPropagation(); // not a page of the console: the router must not take it
    try {
      const { body } = await api('get', '/v1/audit-exports/{exportId}', { path: { exportId: job.exportId } });
      if (body.downloadUrl) location.assign(body.downloadUrl);
    } catch (failure) {
      setActionError(failure instanceof ApiError ? failure : new ApiError(0, undefined));
    }
  };
  const status = pending ? 'Asking for the export…'
    : !exportId || error ? ''
    : !job ? 'Reading the export…'
    : job.status === 'queued' ? 'Export queued.'
    : job.status === 'running' ? 'Export running.'
    : job.status === 'succeeded' ? `Export ready: ${events(job.rows)}.`
    : 'Export failed.';
  return (
    <div class="export">
      <form class="filters" aria-label="Export the audit log" onSubmit={(e) => { e.preventDefault(); void start(); }}>
        <div class="filter">
          <label for="export-format">Export as</label>
          <select id="export-format" value={format} onChange={(e) => setFormat(e.currentTarget.value as 'csv' | 'ndjson')}>
            <option value="csv">CSV (spreadsheets)</option>
            <option value="ndjson">NDJSON (exact)</option>
          </select>
        </div>
        {/* aria-disabled, not disabled: the focused button stays focused while its export runs. */}
        <button type="submit" aria-disabled={running}>{draftChanged ? 'Filter and export' : 'Export'}</button>
      </form>
      {error && <ErrorNotice error={error} />}
      {/* Always in the page, so each change of status is announced; the row count, which changes on every poll, is not in it. */}
      <p role="status" class={status ? `job ${job?.status ?? 'queued'}` : undefined}>
        {status}
        {job?.status === 'succeeded' && <> <a href={job.downloadUrl ?? undefined} download onClick={(e) => void download(e)}>Download {job.format.toUpperCase()}</a></>}
        {job?.status === 'failed' && job.error && <> {job.error}</>}
      </p>
      {running && job && <p class="muted">{events(job.rows)} written{polled.retrying ? '; the service did not answer, retrying' : ''}. <progress aria-label="Export progress" /></p>}
    </div>
  );
}
