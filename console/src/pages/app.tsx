import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import { api, ApiError, enc, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, count, Dialog, ErrorNotice, Field, JobProgress, scrollingTable, Time, UsageOverTime, useLoad, usePaging } from '../ui.js';

type AppDetail = Schemas['App'];
type Policies = Schemas['Policies'];
type RefreshTokenPolicy = NonNullable<Policies['refreshTokenPolicy']>;

const MODES: [RefreshTokenPolicy['mode'], string][] = [
  ['until-revoked', 'Refresh token is valid until revoked'], ['expire-immediately', 'Expire refresh token immediately'],
  ['expire-after', 'Expire refresh token after'], ['expire-if-unused', 'Expire refresh token if not used for'],
];
const PERMITTED = { 'all-users-self-authorize': 'All users may self-authorize', 'admin-approved-pre-authorized': 'Admin approved users are pre-authorized' };
const IP = { enforce: 'Enforce IP restrictions', 'relax-for-refresh': 'Relax IP restrictions for refresh tokens', relax: 'Relax IP restrictions' };

/** An app's detail: Settings and Policies tabs with Edit, and Revoke all tokens. */
export function AppPage({ appId, access }: { appId: string; access: Access }) {
  const { query, route, path } = useLocation();
  const tab = query.tab === 'policies' ? 'policies' : 'settings';
  const app = useLoad(() => api('get', '/v1/apps/{appId}', { path: { appId } }).then((r) => ({ ...r.body, etag: r.headers.get('etag') ?? '' })), [appId]);
  const [dialog, setDialog] = useState<'revoke-all' | 'block' | 'unblock'>();
  const [jobId, setJobId] = useState<string>();
  if (app.error) return <ErrorNotice error={app.error} retry={app.reload} />;
  if (!app.data) return <p aria-busy="true">Loading…</p>;
  const data = app.data;
  const select = (next: 'settings' | 'policies') => route(`${path}${next === 'policies' ? '?tab=policies' : ''}`, true);
  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const next = tab === 'settings' ? 'policies' : 'settings';
    select(next);
    document.getElementById(`tab-${next}`)?.focus();
  };
  return (
    <section>
      <p class="crumbs"><a href="/">OAuth Usage</a></p>
      <h1>{data.name}{data.blocked && <> <span class="tag blocked">Blocked</span></>}</h1>
      <dl class="summary">
        <div><dt>Users</dt><dd><a href={`/apps/${enc(appId)}/users`}>{count(data.userCount)}</a></dd></div>
        <div><dt>Active tokens</dt><dd>{count(data.activeTokenCount)}</dd></div>
        <div><dt>Last used</dt><dd><Time iso={data.lastUsedAt} /></dd></div>
      </dl>
      {data.blocked && <p class="notice">This app is blocked: its tokens were revoked and new ones are refused until it is unblocked.</p>}
      {access.manage && (
        <p class="inline">
          <button type="button" class="danger" onClick={() => setDialog('revoke-all')}>Revoke all tokens</button>
          {data.blocked
            ? <button type="button" class="secondary" onClick={() => setDialog('unblock')}>Unblock</button>
            : <button type="button" class="danger" onClick={() => setDialog('block')}>Block</button>}
        </p>
      )}
      {jobId && <JobProgress jobId={jobId} onDone={app.reload} />}
      <div role="tablist" aria-label="App" onKeyDown={onTabKey}>
        {(['settings', 'policies'] as const).map((t) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={`panel-${t}`} tabIndex={tab === t ? 0 : -1} onClick={() => select(t)}>
            {t === 'settings' ? 'Settings' : 'Policies'}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'settings'
          ? <SettingsTab key={`s${data.updatedAt}`} app={data} manage={access.manage} onSaved={app.reload} />
          : <PoliciesTab key={`p${data.updatedAt}`} app={data} manage={access.manage} onSaved={app.reload} />}
      </div>
      <UsageOverTime source={appId} label={`Uses of ${data.name} a day`} load={() => api('get', '/v1/apps/{appId}/usage', { path: { appId } }).then((r) => r.body)} />
      <ClientTokens appId={appId} manage={access.manage} onRevoked={app.reload} />
      {dialog === 'revoke-all' && <RevokeAllDialog app={data} onClose={() => setDialog(undefined)} onStarted={(id) => { setDialog(undefined); setJobId(id); }} />}
      {(dialog === 'block' || dialog === 'unblock') && (
        <BlockDialog app={data} block={dialog === 'block'} onClose={() => setDialog(undefined)} onDone={(id) => { setDialog(undefined); if (id) setJobId(id); app.reload(); }} />
      )}
    </section>
  );
}

type Saved = { app: AppDetail & { etag: string }; manage: boolean; onSaved: () => void };

/** Edit → form → Save (with If-Match) or Cancel; a 412 offers to reload what someone else saved. */
function useEditor(app: AppDetail & { etag: string }, onSaved: () => void) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  /** Sends a change with the ETag the form was opened with. */
  const save = async (send: (ifMatch: { 'if-match': string }) => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await send({ 'if-match': app.etag });
      setEditing(false);
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    } finally {
      setBusy(false);
    }
  };
  const stale = error?.status === 412 && (
    <div class="notice error" role="alert">
      <p>This app was changed by someone else since you opened it. Reload to see their changes, then edit again.</p>
      <button type="button" onClick={onSaved}>Reload</button>
    </div>
  );
  const other = error && error.status !== 412 && !error.problem?.errors?.length && <ErrorNotice error={error} />;
  const notice = stale || other;
  /** What ends an edit form: what went wrong, Save and Cancel. */
  const footer = (
    <>
      {notice}
      <div class="actions">
        <button type="submit" disabled={busy}>Save</button>
        <button type="button" class="secondary" onClick={() => setEditing(false)}>Cancel</button>
      </div>
    </>
  );
  return { editing, setEditing, error, busy, save, notice, footer };
}

function SettingsTab({ app, manage, onSaved }: Saved) {
  const editor = useEditor(app, onSaved);
  const [form, setForm] = useState({ name: app.name, description: app.description ?? '', contactEmail: app.contactEmail ?? '', callbackUrls: app.callbackUrls.join('\n'), scopes: app.scopes.join(' ') });
  const set = (field: keyof typeof form) => (e: Event) => setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const fieldError = (f: string) => editor.error?.field(`body.${f}`);
  if (!editor.editing) {
    return (
      <>
        <dl class="values">
          <dt>Name</dt><dd>{app.name}</dd>
          <dt>Description</dt><dd>{app.description ?? <span class="muted">None</span>}</dd>
          <dt>Contact email</dt><dd>{app.contactEmail ?? <span class="muted">None</span>}</dd>
          <dt>Callback URLs</dt><dd>{app.callbackUrls.length ? app.callbackUrls.join(', ') : <span class="muted">None</span>}</dd>
          <dt>OAuth scopes</dt><dd>{app.scopes.length ? app.scopes.join(' ') : <span class="muted">None</span>}</dd>
          <dt>Created</dt><dd><Time iso={app.createdAt} /></dd>
          <dt>Last modified</dt><dd><Time iso={app.updatedAt} /></dd>
        </dl>
        {editor.notice}
        {manage && <button type="button" onClick={() => editor.setEditing(true)}>Edit</button>}
      </>
    );
  }
  const submit = (e: Event) => {
    e.preventDefault();
    void editor.save((headers) => api('patch', '/v1/apps/{appId}', {
      path: { appId: app.appId }, headers,
      body: {
        name: form.name, description: form.description.trim() || null, contactEmail: form.contactEmail.trim() || null,
        callbackUrls: form.callbackUrls.split(/\s+/).filter(Boolean), scopes: form.scopes.split(/\s+/).filter(Boolean),
      },
    }));
  };
  const input = (f: keyof typeof form, inputMode: 'text' | 'email' = 'text') => (
    <input id={`settings-${f}`} inputMode={inputMode} value={form[f]} onInput={set(f)} aria-invalid={fieldError(f) ? true : undefined} aria-describedby={fieldError(f) ? `settings-${f}-error` : undefined} />
  );
  return (
    <form onSubmit={submit}>
      <Field label="Name" id="settings-name" error={fieldError('name')}>{input('name')}</Field>
      <Field label="Description" id="settings-description" error={fieldError('description')}>{input('description')}</Field>
      <Field label="Contact email" id="settings-contactEmail" error={fieldError('contactEmail')}>{input('contactEmail', 'email')}</Field>
      <Field label="Callback URLs" id="settings-callbackUrls" hint="One per line" error={fieldError('callbackUrls')}>
        <textarea id="settings-callbackUrls" rows={3} value={form.callbackUrls} onInput={set('callbackUrls')} aria-invalid={fieldError('callbackUrls') ? true : undefined}
          aria-describedby={fieldError('callbackUrls') ? 'settings-callbackUrls-hint settings-callbackUrls-error' : 'settings-callbackUrls-hint'} />
      </Field>
      <Field label="OAuth scopes" id="settings-scopes" hint="Separated by spaces" error={fieldError('scopes')}>{input('scopes')}</Field>
      {editor.footer}
    </form>
  );
}

const duration = (p: RefreshTokenPolicy) => ('value' in p ? ` ${count(p.value)} ${p.unit}` : '');
const orNone = (n: number | null, unit: string) => (n === null ? <span class="muted">Not set</span> : `${count(n)} ${unit}`);

function PoliciesTab({ app, manage, onSaved }: Saved) {
  const editor = useEditor(app, onSaved);
  const p = app.policies;
  const [form, setForm] = useState({
    mode: p.refreshTokenPolicy.mode,
    value: String('value' in p.refreshTokenPolicy ? p.refreshTokenPolicy.value : 90), unit: 'unit' in p.refreshTokenPolicy ? p.refreshTokenPolicy.unit : 'days',
    accessTokenLifetimeMinutes: p.accessTokenLifetimeMinutes === null ? '' : String(p.accessTokenLifetimeMinutes),
    permittedUsers: p.permittedUsers, ipRelaxation: p.ipRelaxation,
    sessionTimeoutMinutes: p.sessionTimeoutMinutes === null ? '' : String(p.sessionTimeoutMinutes),
    refreshTokenReuseGraceSeconds: String(p.refreshTokenReuseGraceSeconds ?? 0),
  });
  const set = (field: keyof typeof form) => (e: Event) => setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const fieldError = (f: string) => editor.error?.field(`body.${f}`);
  if (!editor.editing) {
    return (
      <>
        <dl class="values">
          <dt>Refresh token policy</dt><dd>{MODES.find(([m]) => m === p.refreshTokenPolicy.mode)?.[1]}{duration(p.refreshTokenPolicy)}</dd>
          <dt>Access token lifetime</dt><dd>{orNone(p.accessTokenLifetimeMinutes, 'minutes')}</dd>
          <dt>Permitted users</dt><dd>{PERMITTED[p.permittedUsers]}</dd>
          <dt>IP relaxation</dt><dd>{IP[p.ipRelaxation]}</dd>
          <dt>Session timeout</dt><dd>{orNone(p.sessionTimeoutMinutes, 'minutes')}</dd>
          <dt>Refresh-token reuse grace</dt><dd>{count(p.refreshTokenReuseGraceSeconds ?? 0)} seconds</dd>
        </dl>
        {editor.notice}
        {manage && <button type="button" onClick={() => editor.setEditing(true)}>Edit</button>}
        <ApprovedUsers appId={app.appId} manage={manage} required={p.permittedUsers === 'admin-approved-pre-authorized'} />
      </>
    );
  }
  const timed = form.mode === 'expire-after' || form.mode === 'expire-if-unused';
  const minutes = (v: string) => (v.trim() === '' ? null : Number(v));
  const submit = (e: Event) => {
    e.preventDefault();
    const refreshTokenPolicy = (form.mode === 'expire-after' || form.mode === 'expire-if-unused'
      ? { mode: form.mode, value: Number(form.value), unit: form.unit }
      : { mode: form.mode }) as RefreshTokenPolicy;
    void editor.save((headers) => api('put', '/v1/apps/{appId}/policies', {
      path: { appId: app.appId }, headers,
      body: {
        refreshTokenPolicy, accessTokenLifetimeMinutes: minutes(form.accessTokenLifetimeMinutes), permittedUsers: form.permittedUsers,
        ipRelaxation: form.ipRelaxation, sessionTimeoutMinutes: minutes(form.sessionTimeoutMinutes),
        refreshTokenReuseGraceSeconds: Number(form.refreshTokenReuseGraceSeconds || 0),
      },
    }));
  };
  return (
    <form onSubmit={submit}>
      <fieldset>
        <legend>Refresh token policy</legend>
        {MODES.map(([mode, label]) => (
          <label key={mode} class="check"><input type="radio" name="mode" value={mode} checked={form.mode === mode} onChange={set('mode')} /> {label}</label>
        ))}
        {timed && (
          <div class="inline">
            <Field label="Value" id="policy-value" error={fieldError('refreshTokenPolicy.value')}>
              <input id="policy-value" type="number" min={1} max={36500} value={form.value} onInput={set('value')} />
            </Field>
            <Field label="Unit" id="policy-unit" error={fieldError('refreshTokenPolicy.unit')}>
              <select id="policy-unit" value={form.unit} onChange={set('unit')}>
                <option value="minutes">minutes</option><option value="hours">hours</option><option value="days">days</option>
              </select>
            </Field>
          </div>
        )}
      </fieldset>
      <Field label="Access token lifetime (minutes)" id="policy-access" hint="Empty: as the authorization server issues them" error={fieldError('accessTokenLifetimeMinutes')}>
        <input id="policy-access" type="number" min={1} value={form.accessTokenLifetimeMinutes} onInput={set('accessTokenLifetimeMinutes')} aria-describedby="policy-access-hint" />
      </Field>
      <Field label="Permitted users" id="policy-permitted" error={fieldError('permittedUsers')}>
        <select id="policy-permitted" value={form.permittedUsers} onChange={set('permittedUsers')}>
          {Object.entries(PERMITTED).map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </Field>
      <Field label="IP relaxation" id="policy-ip" error={fieldError('ipRelaxation')}>
        <select id="policy-ip" value={form.ipRelaxation} onChange={set('ipRelaxation')}>
          {Object.entries(IP).map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </Field>
      <Field label="Session timeout (minutes)" id="policy-session" hint="Empty: none" error={fieldError('sessionTimeoutMinutes')}>
        <input id="policy-session" type="number" min={1} value={form.sessionTimeoutMinutes} onInput={set('sessionTimeoutMinutes')} aria-describedby="policy-session-hint" />
      </Field>
      <Field label="Refresh-token reuse grace (seconds)" id="policy-grace" hint="0–60: how long a rotated-out refresh token may be presented again (two tabs refreshing at once) before it counts as reuse" error={fieldError('refreshTokenReuseGraceSeconds')}>
        <input id="policy-grace" type="number" min={0} max={60} value={form.refreshTokenReuseGraceSeconds} onInput={set('refreshTokenReuseGraceSeconds')} aria-describedby="policy-grace-hint" />
      </Field>
      {editor.footer}
    </form>
  );
}

/** The app's own tokens (client credentials: no user), with Revoke per token. */
function ClientTokens({ appId, manage, onRevoked }: { appId: string; manage: boolean; onRevoked: () => void }) {
  const { cursor, pager } = usePaging(appId, 'Pages of client tokens');
  const tokens = useLoad(() => api('get', '/v1/apps/{appId}/client-tokens', { path: { appId }, query: { limit: 50, cursor } }).then((r) => r.body), [appId, cursor]);
  const [revoking, setRevoking] = useState<Schemas['Token']>();
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [error, setError] = useState<ApiError>();
  if (tokens.error) return <ErrorNotice error={tokens.error} retry={tokens.reload} />;
  const items = tokens.data?.items ?? [];
  // A page may come back short (even empty) with more after it: hidden only when there are none at all.
  if (items.length === 0 && !tokens.data?.nextCursor && cursor === undefined) return null;
  const revoke = async (token: Schemas['Token']) => {
    try {
      await api('delete', '/v1/apps/{appId}/client-tokens/{tokenId}', { path: { appId, tokenId: token.tokenId }, headers: { 'idempotency-key': idempotencyKey } });
      setRevoking(undefined);
      tokens.reload();
      onRevoked();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  return (
    <section aria-labelledby="client-tokens">
      <h2 id="client-tokens">Client tokens</h2>
      <p class="lead">Tokens of the app itself (client credentials), held by no user: they count in its active tokens, not in its users.</p>
      <div {...scrollingTable(`Client tokens of ${appId}`)}>
        <table>
          <thead><tr><th scope="col">Token</th><th scope="col">Scopes</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col" class="num">Uses</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.tokenId}>
                <th scope="row">{t.type === 'access' ? 'Access' : 'Refresh'}<small><code>{t.tokenId}</code></small>{t.learnedFrom !== null && <small class="learned">Learned from <a href="/issuers">{t.learnedFrom}</a></small>}</th>
                <td>{t.scopes.join(' ') || <span class="muted">None</span>}</td>
                <td><Time iso={t.issuedAt} /></td>
                <td><Time iso={t.expiresAt} never="Until revoked" /></td>
                <td><Time iso={t.lastUsedAt} /></td>
                <td class="num">{count(t.useCount)}</td>
                <td>{manage && <button type="button" class="danger small" aria-label={`Revoke client token ${t.tokenId}`} onClick={() => { setError(undefined); setIdempotencyKey(crypto.randomUUID()); setRevoking(t); }}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {tokens.data && pager(tokens.data.nextCursor)}
      </div>
      {revoking && (
        <ConfirmDialog title="Revoke this client token" action="Revoke" error={error} onConfirm={() => void revoke(revoking)} onClose={() => setRevoking(undefined)}>
          <p>It stops working at once.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** The users an admin approved, for the admin-approved-pre-authorized policy: Approve a user, Remove. */
function ApprovedUsers({ appId, manage, required }: { appId: string; manage: boolean; required: boolean }) {
  const { cursor, pager } = usePaging(appId, 'Pages of approved users');
  const users = useLoad(() => api('get', '/v1/apps/{appId}/approved-users', { path: { appId }, query: { limit: 100, cursor } }).then((r) => r.body), [appId, cursor]);
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<ApiError>();
  const change = async (send: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await send();
      setUserId('');
      users.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  const approve = (e: Event) => {
    e.preventDefault();
    void change(() => api('put', '/v1/apps/{appId}/approved-users/{userId}', { path: { appId, userId: userId.trim() } }));
  };
  const items = users.data?.items ?? [];
  return (
    <section aria-labelledby="approved-users">
      <h2 id="approved-users">Approved users</h2>
      <p class="lead">{required
        ? 'Only these users may be issued tokens for this app.'
        : 'Kept for when Permitted users is set to “Admin approved users are pre-authorized”; now every user may self-authorize.'}</p>
      {users.error ? <ErrorNotice error={users.error} retry={users.reload} /> : items.length === 0 && !users.data?.nextCursor && cursor === undefined ? <p class="empty">No user is approved.</p> : (
        <>
        <ul class="approved">
          {items.map((u) => (
            <li key={u.userId}>
              <code>{u.userId}</code> <small class="muted">approved <Time iso={u.approvedAt} /> by {u.approvedBy}</small>
              {manage && <button type="button" class="secondary small" aria-label={`Remove ${u.userId}`} onClick={() => void change(() => api('delete', '/v1/apps/{appId}/approved-users/{userId}', { path: { appId, userId: u.userId } }))}>Remove</button>}
            </li>
          ))}
        </ul>
        {users.data && pager(users.data.nextCursor)}
        </>
      )}
      {manage && (
        <form onSubmit={approve} class="inline">
          <Field label="User id" id="approve-user" error={error?.field('path.userId')}>
            <input id="approve-user" value={userId} autoComplete="off" onInput={(e) => setUserId(e.currentTarget.value)} aria-invalid={error?.field('path.userId') ? true : undefined} />
          </Field>
          <div class="actions"><button type="submit" disabled={userId.trim() === ''}>Approve</button></div>
        </form>
      )}
      {error && !error.field('path.userId') && <ErrorNotice error={error} />}
    </section>
  );
}

/** Revoke all tokens: what it will take (dry run), a reason, and the app's id typed to confirm. */
function RevokeAllDialog({ app, onClose, onStarted }: { app: AppDetail; onClose: () => void; onStarted: (jobId: string) => void }) {
  const preview = useLoad(() => api('post', '/v1/apps/{appId}/revocations', { path: { appId: app.appId }, body: { all: true, dryRun: true } }).then((r) => r.body as Schemas['DryRun']), [app.appId]);
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<ApiError>();
  // One key per dialog: a double click or a retry after a network error starts one job.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const { body } = await api('post', '/v1/apps/{appId}/revocations', { path: { appId: app.appId }, body: { all: true, ...(reason.trim() ? { reason: reason.trim() } : {}) }, headers: { 'idempotency-key': idempotencyKey } });
      onStarted((body as Schemas['RevocationJob']).jobId);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, undefined));
    }
  };
  return (
    <Dialog title={`Revoke all tokens of ${app.name}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <p>{preview.data ? `This revokes ${count(preview.data.tokensAffected)} active tokens of ${count(preview.data.usersAffected)} users, at once. It cannot be undone.` : 'Counting the tokens it would revoke…'}</p>
        <Field label="Reason (optional)" id="revoke-all-reason" error={error?.field('body.reason')}>
          <input id="revoke-all-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </Field>
        <Field label={`Type ${app.appId} to confirm`} id="revoke-all-confirm">
          <input id="revoke-all-confirm" value={typed} autoComplete="off" onInput={(e) => setTyped(e.currentTarget.value)} />
        </Field>
        {error && !error.field('body.reason') && <ErrorNotice error={error} />}
        <div class="actions">
          <button type="submit" class="danger" disabled={typed !== app.appId}>Revoke all tokens</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * Block (every token revoked at once, new ones refused until Unblock) or Unblock (new tokens taken
 * again; what the block revoked stays revoked), after a confirmation naming what happens.
 */
function BlockDialog({ app, block, onClose, onDone }: { app: AppDetail; block: boolean; onClose: () => void; onDone: (jobId: string | undefined) => void }) {
  const [error, setError] = useState<ApiError>();
  // One key per dialog: a double click or a retry after a network error blocks once.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const confirm = async () => {
    try {
      if (block) {
        const { body } = await api('post', '/v1/apps/{appId}/block', { path: { appId: app.appId }, headers: { 'idempotency-key': idempotencyKey } });
        onDone(body.job?.jobId);
      } else {
        await api('post', '/v1/apps/{appId}/unblock', { path: { appId: app.appId } });
        onDone(undefined);
      }
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  return (
    <ConfirmDialog title={`${block ? 'Block' : 'Unblock'} ${app.name}`} action={block ? 'Block' : 'Unblock'} error={error} onConfirm={() => void confirm()} onClose={onClose}>
      {block
        ? <p>This revokes all {count(app.activeTokenCount)} active tokens of its {count(app.userCount)} users at once, and refuses new tokens for the app until you unblock it. The revoked tokens stay revoked after an unblock.</p>
        : <p>The app's users can be issued tokens again. Tokens the block revoked stay revoked.</p>}
    </ConfirmDialog>
  );
}
