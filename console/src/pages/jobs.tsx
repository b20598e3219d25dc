import { useState } from 'preact/hooks';
import { api, ApiError, enc, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { count, ErrorNotice, progressText, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type JobRow = Schemas['RevocationJob'];
const STATUSES = ['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** Revocation jobs, newest first, with Cancel for a scheduled one. */
export function JobsPage({ access }: { access: Access }) {
  const [status, setStatus] = useState('');
  const { cursor, pager } = usePaging(status);
  const jobs = useLoad(() => api('get', '/v1/revocation-jobs', { query: { status: (status || undefined) as JobRow['status'] | undefined, cursor, limit: 50 } }).then((r) => r.body), [status, cursor]);
  const [error, setError] = useState<ApiError>();
  const cancel = async (jobId: string) => {
    try {
      await api('delete', '/v1/revocation-jobs/{jobId}', { path: { jobId } });
      jobs.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  return (
    <section>
      <h1>Revocation jobs</h1>
      <p class="lead">Revocations, offboardings and personal-data erasures, newest first.</p>
      <div class="filters">
        <label for="status">Status</label>
        <select id="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">Any</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      {error && <ErrorNotice error={error} />}
      {jobs.error ? <ErrorNotice error={jobs.error} retry={jobs.reload} /> : (
        <div {...scrollingTable('Revocation jobs')} aria-busy={jobs.loading}>
          <table>
            <caption class="visually-hidden">Revocation jobs</caption>
            <thead><tr><th scope="col">Requested</th><th scope="col">App</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">By</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {jobs.data?.items.map((j) => (
                <tr key={j.jobId}>
                  <th scope="row"><Time iso={j.createdAt} />{j.reason && <small>{j.reason}</small>}</th>
                  <td>{j.appId === null ? 'Every app' : <a href={`/apps/${enc(j.appId)}`}>{j.appId}</a>}</td>
                  <td>{'all' in j.target ? 'All tokens' : 'userIds' in j.target ? `${count(j.target.userIds.length)} users` : <>{j.kind === 'personal-data-erasure' ? 'Erase personal data of' : 'Offboarding'} <a href={`/users?q=${enc(j.target.userId)}`}>{j.target.userId}</a></>}</td>
                  <td><span class={`status ${j.status}`}>{j.status}</span>{j.status === 'scheduled' && <small>at <Time iso={j.runAt} /></small>}{j.error && <small>{j.error}</small>}</td>
                  <td>{progressText(j)}</td>
                  <td>{j.requestedBy}</td>
                  <td>{access.manage && j.status === 'scheduled' && <button type="button" class="secondary small" aria-label={`Cancel job ${j.jobId}`} onClick={() => void cancel(j.jobId)}>Cancel</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {jobs.data && jobs.data.items.length === 0 && <p class="empty">No revocation jobs{status ? ` with status ${status}` : ''}. Revoke users from an app's Usage by User page.</p>}
          {jobs.data && pager(jobs.data.nextCursor)}
        </div>
      )}
    </section>
  );
}
