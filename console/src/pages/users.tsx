import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import { api, ApiError, enc, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, count, Dialog, ErrorNotice, Field, JobProgress, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type UserRow = Schemas['Usage'];

/** Usage by User: who holds active tokens for the app; Revoke one user, or select some and Bulk Revoke. */
export function UsersPage({ appId, access }: { appId: string; access: Access }) {
  const { query: q, route, path } = useLocation();
  const [search, setSearch] = useState('');
  const searching = search.trim() !== '';
  // A search is by user: the order by most recent use does not apply to it.
  const sort = q.sort === '-lastUsedAt' && !searching ? '-lastUsedAt' : 'userId';
  const { cursor, pager } = usePaging(`${sort}\n${search}`);
  const app = useLoad(() => api('get', '/v1/apps/{appId}', { path: { appId } }).then((r) => r.body), [appId]);
  const users = useLoad(() => api('get', '/v1/apps/{appId}/users', { path: { appId }, query: { sort, cursor, limit: 50, ...(searching ? { q: search.trim() } : {}) } }).then((r) => r.body), [appId, sort, search, cursor]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<{ kind: 'one'; user: UserRow } | { kind: 'bulk' }>();
  const [jobId, setJobId] = useState<string>();
  const refresh = () => {
    setSelected(new Set());
    app.reload();
    users.reload();
  };
  const rows = users.data?.items ?? [];
  const allSelected = rows.length > 0 && rows.every((u) => selected.has(u.userId));
  const toggle = (userId: string) => setSelected((s) => {
    const next = new Set(s);
    if (!next.delete(userId)) next.add(userId);
    return next;
  });
  const started = (id: string) => {
    setDialog(undefined);
    setJobId(id);
  };
  if (app.error) return <ErrorNotice error={app.error} retry={app.reload} />;
  return (
    <section>
      <p class="crumbs"><a href="/">OAuth Usage</a> › <a href={`/apps/${enc(appId)}`}>{app.data?.name ?? appId}</a></p>
      <h1>Usage by User</h1>
      <p class="lead">{app.data ? `${app.data.name}: ${count(app.data.userCount)} users hold ${count(app.data.activeTokenCount)} active tokens.` : ' '}</p>
      <div class="filters" role="search">
        <label for="user-search">Search users</label>
        <input id="user-search" type="search" value={search} placeholder="User or name starts with…" onInput={(e) => setSearch(e.currentTarget.value)} />
        <label for="sort">Sort by</label>
        <select id="sort" value={sort} disabled={searching} onChange={(e) => route(`${path}${e.currentTarget.value === '-lastUsedAt' ? '?sort=-lastUsedAt' : ''}`, true)}>
          <option value="userId">User</option>
          <option value="-lastUsedAt">Most recent use</option>
        </select>
        {access.manage && <button type="button" class="danger" disabled={selected.size === 0} onClick={() => setDialog({ kind: 'bulk' })}>Bulk Revoke{selected.size ? ` (${count(selected.size)})` : ''}</button>}
      </div>
      {jobId && <JobProgress key={jobId} jobId={jobId} onDone={refresh} />}
      {users.error ? <ErrorNotice error={users.error} retry={users.reload} /> : (
        <div {...scrollingTable(`Users of ${app.data?.name ?? appId}`)} aria-busy={users.loading}>
          <table>
            <caption class="visually-hidden">Users of {app.data?.name ?? appId}</caption>
            <thead>
              <tr>
                {access.manage && (
                  <th scope="col"><input type="checkbox" aria-label="Select all users on this page" checked={allSelected} disabled={rows.length === 0}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((u) => u.userId)))} /></th>
                )}
                <th scope="col" aria-sort={sort === 'userId' ? 'ascending' : undefined}>User</th>
                <th scope="col">First used</th>
                <th scope="col" aria-sort={sort === '-lastUsedAt' ? 'descending' : undefined}>Most recent use</th>
                <th scope="col" class="num">Number of uses</th>
                <th scope="col" class="num">Active tokens</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => (
                <tr key={u.userId}>
                  {access.manage && <td><input type="checkbox" aria-label={`Select ${u.userId}`} checked={selected.has(u.userId)} onChange={() => toggle(u.userId)} /></td>}
                  <th scope="row">{u.userName ?? u.userId}{u.userName && <small>{u.userId}</small>}</th>
                  <td><Time iso={u.firstUsedAt} /></td>
                  <td><Time iso={u.lastUsedAt} /></td>
                  <td class="num">{count(u.useCount)}</td>
                  <td class="num">{count(u.activeTokenCount)}</td>
                  <td><div class="row-actions">
                    <a href={`/apps/${enc(appId)}/users/${enc(u.userId)}/tokens`} aria-label={`Tokens of ${u.userId}`}>Tokens</a>
                    {access.manage && <button type="button" class="danger small" aria-label={`Revoke ${u.userId}`} onClick={() => setDialog({ kind: 'one', user: u })}>Revoke</button>}
                  </div></td>
                </tr>
              ))}
            </tbody>
          </table>
          {users.data && rows.length === 0 && <p class="empty">{searching ? `No user of this app holding tokens has an id or a name starting with “${search.trim()}”${users.data.nextCursor ? ' on this page' : ''}.` : 'No user holds an active token for this app.'}</p>}
          {users.data && pager(users.data.nextCursor)}
        </div>
      )}
      {dialog?.kind === 'one' && <RevokeUserDialog appId={appId} user={dialog.user} onClose={() => setDialog(undefined)} onStarted={started} />}
      {dialog?.kind === 'bulk' && <BulkRevokeDialog appId={appId} userIds={[...selected]} onClose={() => setDialog(undefined)} onStarted={started} />}
    </section>
  );
}

function RevokeUserDialog({ appId, user, onClose, onStarted }: { appId: string; user: UserRow; onClose: () => void; onStarted: (jobId: string) => void }) {
  const [error, setError] = useState<ApiError>();
  // One key per dialog: a double click or a retry after a network error starts one job.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const revoke = async () => {
    try {
      const { body } = await api('delete', '/v1/apps/{appId}/users/{userId}/tokens', { path: { appId, userId: user.userId }, headers: { 'idempotency-key': idempotencyKey } });
      onStarted(body.jobId);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  return (
    <ConfirmDialog title={`Revoke ${user.userName ?? user.userId}`} action="Revoke" error={error} onConfirm={() => void revoke()} onClose={onClose}>
      <p>This revokes all {count(user.activeTokenCount)} active tokens of {user.userId} for this app, at once.</p>
    </ConfirmDialog>
  );
}

/** Bulk Revoke: the dry run's numbers, an optional reason and an optional time to run at. */
function BulkRevokeDialog({ appId, userIds, onClose, onStarted }: { appId: string; userIds: string[]; onClose: () => void; onStarted: (jobId: string) => void }) {
  const preview = useLoad(() => api('post', '/v1/apps/{appId}/revocations', { path: { appId }, body: { userIds, dryRun: true } }).then((r) => r.body as Schemas['DryRun']), [appId, userIds.join('\n')]);
  const [reason, setReason] = useState('');
  const [runAt, setRunAt] = useState('');
  const [error, setError] = useState<ApiError>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const { body } = await api('post', '/v1/apps/{appId}/revocations', {
        path: { appId },
        body: { userIds, ...(reason.trim() ? { reason: reason.trim() } : {}), ...(runAt ? { runAt: new Date(runAt).toISOString() } : {}) },
        headers: { 'idempotency-key': idempotencyKey },
      });
      onStarted((body as Schemas['RevocationJob']).jobId);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, undefined));
    }
  };
  // One key per dialog: a retried submit (say, after a network error) cannot start a second job.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  return (
    <Dialog title={`Bulk Revoke ${count(userIds.length)} users`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <p>{preview.data ? `This revokes ${count(preview.data.tokensAffected)} active tokens of ${count(preview.data.usersAffected)} users.` : 'Counting the tokens it would revoke…'}</p>
        <Field label="Reason (optional)" id="bulk-reason" error={error?.field('body.reason')}>
          <input id="bulk-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </Field>
        <Field label="Run at (optional)" id="bulk-run-at" hint="Empty: now" error={error?.field('body.runAt')}>
          <input id="bulk-run-at" type="datetime-local" value={runAt} onInput={(e) => setRunAt(e.currentTarget.value)} aria-describedby="bulk-run-at-hint" />
        </Field>
        {error && !error.problem?.errors?.length && <ErrorNotice error={error} />}
        <div class="actions">
          <button type="submit" class="danger">Bulk Revoke</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
