import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import { api, ApiError, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, count, Dialog, ErrorNotice, Field, JobProgress, scrollingTable, Time, useLoad, usePaging } from '../ui.js';

type OrgUser = Schemas['OrgUser'];
type Action = 'block' | 'unblock' | 'offboard' | 'erase';

/** Users: everyone holding tokens in any app of the org (or the blocked ones), found by id or name; Block, Revoke everywhere, Erase personal data. */
export function OrgUsersPage({ access }: { access: Access }) {
  const { query } = useLocation();
  const [search, setSearch] = useState(query.q ?? '');
  const [blockedOnly, setBlockedOnly] = useState(false);
  const { cursor, pager } = usePaging(`${search}\n${blockedOnly}`);
  const users = useLoad(() => api('get', '/v1/users', {
    query: { cursor, limit: 50, ...(search.trim() ? { q: search.trim() } : {}), ...(blockedOnly ? { blocked: 'true' } : {}) },
  }).then((r) => r.body), [search, blockedOnly, cursor]);
  const [dialog, setDialog] = useState<{ action: Action; user: OrgUser }>();
  const [job, setJob] = useState<{ jobId: string; erasure: boolean }>();
  const done = (started?: { jobId: string; erasure: boolean }) => {
    setDialog(undefined);
    if (started) setJob(started);
    users.reload();
  };
  const rows = users.data?.items ?? [];
  const name = (u: OrgUser) => u.userName ?? u.userId;
  return (
    <section>
      <h1>Users</h1>
      <p class="lead">Everyone holding active tokens in any app of the org.</p>
      <div class="filters" role="search">
        <label for="org-user-search">Search users</label>
        <input id="org-user-search" type="search" value={search} placeholder="User or name starts with…" onInput={(e) => setSearch(e.currentTarget.value)} />
        <label class="check"><input type="checkbox" checked={blockedOnly} onChange={(e) => setBlockedOnly(e.currentTarget.checked)} /> Blocked users only</label>
      </div>
      {job && <JobProgress key={job.jobId} jobId={job.jobId} erasure={job.erasure} onDone={users.reload} />}
      {users.error ? <ErrorNotice error={users.error} retry={users.reload} /> : (
        <div {...scrollingTable('Users of the org')} aria-busy={users.loading}>
          <table>
            <caption class="visually-hidden">Users of the org</caption>
            <thead>
              <tr>
                <th scope="col" aria-sort="ascending">User</th><th scope="col" class="num">Apps</th><th scope="col" class="num">Active tokens</th>
                <th scope="col">Most recent use</th><th scope="col">New tokens</th><th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => (
                <tr key={u.userId}>
                  <th scope="row">{name(u)}{u.userName && <small>{u.userId}</small>}</th>
                  <td class="num">{count(u.appCount)}</td>
                  <td class="num">{count(u.activeTokenCount)}</td>
                  <td><Time iso={u.lastUsedAt} /></td>
                  <td>{u.blocked ? <span class="tag blocked">Blocked</span> : 'Allowed'}</td>
                  <td>{access.manage && (
                    <div class="row-actions">
                      {u.blocked
                        ? <button type="button" class="secondary small" aria-label={`Unblock ${u.userId}`} onClick={() => setDialog({ action: 'unblock', user: u })}>Unblock</button>
                        : <button type="button" class="secondary small" aria-label={`Block ${u.userId}`} onClick={() => setDialog({ action: 'block', user: u })}>Block</button>}
                      <button type="button" class="danger small" aria-label={`Revoke everywhere ${u.userId}`} onClick={() => setDialog({ action: 'offboard', user: u })}>Revoke everywhere</button>
                      <button type="button" class="danger small" aria-label={`Erase personal data of ${u.userId}`} onClick={() => setDialog({ action: 'erase', user: u })}>Erase personal data</button>
                    </div>
                  )}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {users.data && rows.length === 0 && (
            <p class="empty">{search.trim() ? `No user's id or name starts with “${search.trim()}”${users.data.nextCursor ? ' on this page' : ''}.` : blockedOnly ? 'No user is blocked.' : 'No user holds an active token.'}</p>
          )}
          {users.data && pager(users.data.nextCursor)}
        </div>
      )}
      {(dialog?.action === 'block' || dialog?.action === 'unblock') && <BlockUserDialog user={dialog.user} block={dialog.action === 'block'} onClose={() => setDialog(undefined)} onDone={() => done()} />}
      {dialog?.action === 'offboard' && <RevokeEverywhereDialog user={dialog.user} onClose={() => setDialog(undefined)} onStarted={(jobId) => done({ jobId, erasure: false })} />}
      {dialog?.action === 'erase' && <EraseDialog user={dialog.user} onClose={() => setDialog(undefined)} onStarted={(jobId) => done({ jobId, erasure: true })} />}
    </section>
  );
}

const failure = (e: unknown) => (e instanceof ApiError ? e : new ApiError(0, undefined));

function BlockUserDialog({ user, block, onClose, onDone }: { user: OrgUser; block: boolean; onClose: () => void; onDone: () => void }) {
  const [error, setError] = useState<ApiError>();
  const confirm = async () => {
    try {
      await api('post', block ? '/v1/users/{userId}/block' : '/v1/users/{userId}/unblock', { path: { userId: user.userId } });
      onDone();
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <ConfirmDialog title={`${block ? 'Block' : 'Unblock'} ${user.userName ?? user.userId}`} action={block ? 'Block' : 'Unblock'} error={error} onConfirm={() => void confirm()} onClose={onClose}>
      {block
        ? <p>{user.userId} will be refused new tokens in every app until you unblock them. The {count(user.activeTokenCount)} tokens they hold stay active: use Revoke everywhere to end them.</p>
        : <p>{user.userId} can be issued tokens again. Tokens of trusted issuers issued while they were blocked stay inactive.</p>}
    </ConfirmDialog>
  );
}

/** Offboarding: the dry run's numbers first, then every token of the user in every app revoked at once (and new ones refused, if ticked). */
function RevokeEverywhereDialog({ user, onClose, onStarted }: { user: OrgUser; onClose: () => void; onStarted: (jobId: string) => void }) {
  const preview = useLoad(() => api('post', '/v1/users/{userId}/revocations', { path: { userId: user.userId }, body: { dryRun: true } }).then((r) => r.body as Schemas['OffboardingDryRun']), [user.userId]);
  const [reason, setReason] = useState('');
  const [block, setBlock] = useState(!user.blocked);
  const [error, setError] = useState<ApiError>();
  // One key per dialog: a double click or a retry after a network error starts one job.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const { body } = await api('post', '/v1/users/{userId}/revocations', {
        path: { userId: user.userId }, body: { block: block && !user.blocked, ...(reason.trim() ? { reason: reason.trim() } : {}) }, headers: { 'idempotency-key': idempotencyKey },
      });
      onStarted((body as Schemas['RevocationJob']).jobId);
    } catch (err) {
      setError(failure(err));
    }
  };
  return (
    <Dialog title={`Revoke everywhere: ${user.userName ?? user.userId}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <p>{preview.data ? `This revokes ${count(preview.data.tokensAffected)} active tokens of ${user.userId} in ${count(preview.data.appsAffected)} apps, at once. It cannot be undone.` : preview.error ? 'The numbers could not be counted.' : 'Counting the tokens it would revoke…'}</p>
        <label class="check"><input type="checkbox" checked={block || user.blocked} disabled={user.blocked} onChange={(e) => setBlock(e.currentTarget.checked)} /> Also refuse them new tokens until unblocked{user.blocked ? ' (blocked already)' : ''}</label>
        <Field label="Reason (optional)" id="offboard-reason" error={error?.field('body.reason')}>
          <input id="offboard-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </Field>
        {error && !error.field('body.reason') && <ErrorNotice error={error} />}
        <div class="actions">
          <button type="submit" class="danger">Revoke everywhere</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function EraseDialog({ user, onClose, onStarted }: { user: OrgUser; onClose: () => void; onStarted: (jobId: string) => void }) {
  const [error, setError] = useState<ApiError>();
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const confirm = async () => {
    try {
      const { body } = await api('delete', '/v1/users/{userId}/personal-data', { path: { userId: user.userId }, headers: { 'idempotency-key': idempotencyKey } });
      onStarted(body.jobId);
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <ConfirmDialog title={`Erase personal data of ${user.userId}`} action="Erase personal data" error={error} onConfirm={() => void confirm()} onClose={onClose}>
      <p>This blanks {user.userName ? `the name “${user.userName}”` : 'the name'} of {user.userId} everywhere the service holds it, in every app. It cannot be undone. Ids, counts and tokens stay; a name the authorization server sends again is stored again.</p>
    </ConfirmDialog>
  );
}
