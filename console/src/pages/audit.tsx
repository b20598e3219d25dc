import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { ErrorNotice, Time, useLoad, usePaging, scrollingTable } from '../ui.js';


/** The audit log, newest first, by app and by user. */
export function AuditPage() {
  const [filter, setFilter] = useState({ appId: '', userId: '' });
  const [draft, setDraft] = useState(filter);
  const { cursor, pager } = usePaging(`${filter.appId}\n${filter.userId}`);
  const events = useLoad(() => api('get', '/v1/audit-events', { query: { appId: filter.appId.trim(), userId: filter.userId.trim(), cursor, limit: 50 } }).then((r) => r.body), [filter, cursor]);
  return (
    <section>
      <h1>Audit log</h1>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setFilter(draft); }}>
        <label for="audit-app">App</label>
        <input id="audit-app" value={draft.appId} placeholder="App id" onInput={(e) => setDraft({ ...draft, appId: e.currentTarget.value })} />
        <label for="audit-user">User</label>
        <input id="audit-user" value={draft.userId} placeholder="User id" onInput={(e) => setDraft({ ...draft, userId: e.currentTarget.value })} />
        <button type="submit">Filter</button>
      </form>
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
          {events.data && events.data.items.length === 0 && <p class="empty">No events{filter.appId || filter.userId ? ' match this filter' : ' yet'}.</p>}
          {events.data && pager(events.data.nextCursor)}
        </div>
      )}
    </section>
  );
}
