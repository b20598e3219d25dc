import { useEffect, useState } from 'preact/hooks';
import { auditActions } from '../../../shared/registries.js';
import { api, ApiError, enc, type Schemas } from '../api.js';
import { count, ErrorNotice, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type AuditExport = Schemas['AuditExport'];
interface Filter { appId: string; userId: string; action: Action | ''; actor: string; since: string; until: string }
const NO_FILTER: Filter = { appId: '', userId: '', action: '', actor: '', since: '', until: '' };
type Action = keyof typeof auditActions;
const actions = Object.keys(auditActions) as Action[];

/** A `datetime-local` value (the browser's time zone) as an RFC 3339 instant; empty stays unset. */
const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);
/** The filters as the API takes them: the list's query, or an export's body. */
const filtersOf = (f: Omit<Filter, 'action'>) => ({
  appId: f.appId.trim() || undefined, userId: f.userId.trim() || undefined, actor: f.actor.trim() || undefined,
  since: instant(f.since), until: instant(f.until),
});

/** The audit log, newest first, filtered by app, user, action, actor and time; exported as CSV or NDJSON. */
export function AuditPage() {
  const [filter, setFilter] = useState(NO_FILTER);
  const [draft, setDraft] = useState(filter);
  const { cursor, pager } = usePaging(JSON.stringify(filter));
  const events = useLoad(() => api('get', '/v1/audit-events', { query: { ...filtersOf(filter), action: filter.action ? [filter.action] : undefined, cursor, limit: 50 } }).then((r) => r.body), [filter, cursor]);
  const input = (name: keyof Filter) => ({ id: `audit-${name}`, value: draft[name], onInput: (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [name]: e.currentTarget.value }) });
  const filtered = Object.values(filter).some((v) => v !== '');
  return (
    <section>
      <h1>Audit log</h1>
      <form class="filters" aria-label="Filter the audit log" onSubmit={(e) => { e.preventDefault(); setFilter(draft); }}>
        <label for="audit-appId">App</label>
        <input {...input('appId')} placeholder="App id" />
        <label for="audit-userId">User</label>
        <input {...input('userId')} placeholder="User id" />
        <label for="audit-action">Action</label>
        <select {...input('action')} onChange={(e) => setDraft({ ...draft, action: e.currentTarget.value as Action | '' })}>
          <option value="">Any action</option>
          {actions.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
        <label for="audit-actor">Actor</label>
        <input {...input('actor')} placeholder="Who (sub)" />
        <label for="audit-since">From</label>
        <input {...input('since')} type="datetime-local" />
        <label for="audit-until">Before</label>
        <input {...input('until')} type="datetime-local" />
        <button type="submit">Filter</button>
        {filtered && <button type="button" class="secondary" onClick={() => { setDraft(NO_FILTER); setFilter(NO_FILTER); }}>Clear</button>}
      </form>
      <AuditExporter filter={filter} />
      {events.error ? <ErrorNotice error={events.error} retry={events.reload} /> : (
        <div {...scrollingTable('Audit events')} aria-busy={events.loading}>
          <table>
            <caption class="visually-hidden">Audit events</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">App</th><th scope="col">User</th><th scope="col">Reason</th></tr></thead>
            <tbody>
              {events.data?.items.map((e) => (
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
          {events.data && events.data.items.length === 0 && <p class="empty">{events.data.nextCursor ? 'None on this page; more may follow.' : `No events${filtered ? ' match these filters' : ' yet'}.`}</p>}
          {events.data && pager(events.data.nextCursor)}
        </div>
      )}
    </section>
  );
}

/** Export: the events the filters select, as a job whose progress is shown until its file can be downloaded. */
function AuditExporter({ filter }: { filter: Filter }) {
  const [format, setFormat] = useState<'csv' | 'ndjson'>('csv');
  const [job, setJob] = useState<AuditExport>();
  const [error, setError] = useState<ApiError>();
  const running = job !== undefined && (job.status === 'queued' || job.status === 'running');
  useEffect(() => {
    if (!running) return undefined;
    const timer = setTimeout(() => {
      api('get', '/v1/audit-exports/{exportId}', { path: { exportId: job.exportId } }).then((r) => setJob(r.body), () => setJob({ ...job }));
    }, 700);
    return () => clearTimeout(timer);
  }, [job]);
  const start = async () => {
    setError(undefined);
    try {
      const { action, ...rest } = filter;
      const filters = { ...filtersOf(rest), ...(action ? { action: [action] } : {}) };
      const { body } = await api('post', '/v1/audit-exports', { body: { format, filters }, headers: { 'idempotency-key': crypto.randomUUID() } });
      setJob(body);
    } catch (e) {
      setError(e instanceof ApiError ? e : undefined);
    }
  };
  return (
    <div class="export">
      <form class="filters" aria-label="Export the audit log" onSubmit={(e) => { e.preventDefault(); void start(); }}>
        <label for="export-format">Export as</label>
        <select id="export-format" value={format} onChange={(e) => setFormat(e.currentTarget.value as 'csv' | 'ndjson')}>
          <option value="csv">CSV (spreadsheets)</option>
          <option value="ndjson">NDJSON (exact)</option>
        </select>
        <button type="submit" disabled={running}>Export</button>
      </form>
      {error && <ErrorNotice error={error} />}
      {job && (
        <p role="status" class={`job ${job.status}`}>
          {running ? <>Export {job.status}: {count(job.rows)} events written. <progress aria-label="Export progress" /></>
            : job.status === 'succeeded' ? <>Export ready: {count(job.rows)} events. <a href={job.downloadUrl ?? '#'} download>Download {job.format.toUpperCase()}</a> (the link works for 15 minutes).</>
            : <>Export failed. {job.error}</>}
        </p>
      )}
    </div>
  );
}
