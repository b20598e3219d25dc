import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { count, ErrorNotice, Time, useLoad, usePaging, scrollingTable } from '../ui.js';


/** OAuth Usage: the external client apps holding active tokens, by name. */
export function AppsPage() {
  const [search, setSearch] = useState('');
  const [all, setAll] = useState(false);
  const { cursor, pager } = usePaging(`${search}\n${all}`);
  const apps = useLoad(() => api('get', '/v1/apps', { query: { q: search.trim(), all: all ? 'true' : undefined, cursor, limit: 50 } }).then((r) => r.body), [search, all, cursor]);
  return (
    <section>
      <h1>OAuth Usage</h1>
      <p class="lead">External client apps whose users hold active access or refresh tokens.</p>
      <div class="filters" role="search">
        <label for="search">Search apps</label>
        <input id="search" type="search" value={search} placeholder="Name starts with…" onInput={(e) => setSearch(e.currentTarget.value)} />
        <label class="check"><input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> Show all apps</label>
      </div>
      {apps.error ? <ErrorNotice error={apps.error} retry={apps.reload} /> : (
        <div {...scrollingTable('Apps')} aria-busy={apps.loading}>
          <table>
            <caption class="visually-hidden">Apps</caption>
            <thead><tr><th scope="col">App name</th><th scope="col" class="num">Users</th><th scope="col" class="num">Active tokens</th><th scope="col">Last used</th></tr></thead>
            <tbody>
              {apps.data?.items.map((app) => (
                <tr key={app.appId}>
                  <th scope="row"><a href={`/apps/${enc(app.appId)}`}>{app.name}</a>{app.blocked && <> <span class="tag blocked">Blocked</span></>}{app.description && <small>{app.description}</small>}</th>
                  <td class="num"><a href={`/apps/${enc(app.appId)}/users`} aria-label={`${count(app.userCount)} users of ${app.name}`}>{count(app.userCount)}</a></td>
                  <td class="num">{count(app.activeTokenCount)}</td>
                  <td><Time iso={app.lastUsedAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
          {apps.data && apps.data.items.length === 0 && (
            <p class="empty">{search ? `No app's name starts with “${search}”.` : all ? 'No apps yet. Apps are created through the API (POST /v1/apps).' : 'No app holds active tokens. Tick “Show all apps” to see every app.'}</p>
          )}
          {apps.data && pager(apps.data.nextCursor)}
        </div>
      )}
    </section>
  );
}
