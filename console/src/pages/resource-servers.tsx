import { useState } from 'preact/hooks';
import { api, ApiError, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, Dialog, ErrorNotice, Field, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type Server = Schemas['ResourceServer'];

/**
 * Resource servers: the APIs that introspect the org's tokens, each with the audience it serves
 * (a token minted for another API is inactive to it); Declare, New secret (shown once) for HTTP
 * Basic, Delete.
 */
export function ResourceServersPage({ access }: { access: Access }) {
  const { cursor, pager } = usePaging('resource-servers');
  const servers = useLoad(() => api('get', '/v1/resource-servers', { query: { cursor, limit: 50 } }).then((r) => r.body), [cursor]);
  const [declaring, setDeclaring] = useState<Server | 'new'>();
  const [secret, setSecret] = useState<Schemas['ClientSecret']>();
  const [deleting, setDeleting] = useState<Server>();
  const [ending, setEnding] = useState<Server>();
  const [error, setError] = useState<ApiError>();
  const run = async (send: () => Promise<void>) => {
    setError(undefined);
    try {
      await send();
      servers.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  const newSecret = (server: Server) => run(async () => {
    setSecret((await api('post', '/v1/resource-servers/{sub}/secret', { path: { sub: server.sub } })).body);
  });
  const endSecrets = (server: Server) => run(async () => {
    await api('delete', '/v1/resource-servers/{sub}/secret', { path: { sub: server.sub } });
    setEnding(undefined);
  });
  const remove = (server: Server) => run(async () => {
    await api('delete', '/v1/resource-servers/{sub}', { path: { sub: server.sub } });
    setDeleting(undefined);
  });
  const items = servers.data?.items ?? [];
  return (
    <section>
      <h1>Resource servers</h1>
      <p class="lead">The APIs that check tokens with introspection, known by the <code>sub</code> of their token. A declared one sees only the tokens issued for its audience (and those issued for no audience); one not declared sees every token of the org. A client secret lets it authenticate with HTTP Basic instead of a token.</p>
      {access.manage && <p><button type="button" onClick={() => setDeclaring('new')}>Declare a resource server</button></p>}
      {error && !declaring && <ErrorNotice error={error} />}
      {servers.error ? <ErrorNotice error={servers.error} retry={servers.reload} /> : (
        <div {...scrollingTable('Resource servers')} aria-busy={servers.loading}>
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Client id (sub)</th><th scope="col">Audience</th><th scope="col">Client secret</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((server) => {
                const current = server.secrets.find((s) => s.expiresAt === null);
                return (
                  <tr key={server.sub}>
                    <th scope="row">{server.name}</th>
                    <td><code>{server.sub}</code></td>
                    <td><code>{server.audience}</code></td>
                    <td>{current ? <>Made <Time iso={current.createdAt} />{server.secrets.length > 1 && <small>the one before works until <Time iso={server.secrets.find((s) => s.expiresAt !== null)?.expiresAt} /></small>}</> : <span class="muted">None</span>}</td>
                    <td class="actions-cell">{access.manage && (
                      <>
                        <button type="button" class="secondary small" aria-label={`Edit ${server.sub}`} onClick={() => { setError(undefined); setDeclaring(server); }}>Edit</button>
                        <button type="button" class="secondary small" aria-label={`New secret for ${server.sub}`} onClick={() => void newSecret(server)}>New secret</button>
                        {server.secrets.length > 0 && <button type="button" class="danger small" aria-label={`End the secrets of ${server.sub}`} onClick={() => { setError(undefined); setEnding(server); }}>End secrets</button>}
                        <button type="button" class="danger small" aria-label={`Delete ${server.sub}`} onClick={() => { setError(undefined); setDeleting(server); }}>Delete</button>
                      </>
                    )}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {servers.data && items.length === 0 && <p class="empty">No resource server is declared: every caller with <code>tokens:introspect</code> sees every token of the org.</p>}
          {servers.data && pager(servers.data.nextCursor)}
        </div>
      )}
      {declaring && <DeclareDialog server={declaring === 'new' ? undefined : declaring} onClose={() => setDeclaring(undefined)} onSaved={() => { setDeclaring(undefined); servers.reload(); }} />}
      {secret && (
        <Dialog title={`Client secret for ${secret.clientId}`} onClose={() => setSecret(undefined)}>
          <p>Copy it now: it is shown this once. Use HTTP Basic with client id <code>{secret.clientId}</code> and this secret at <code>/oauth2/introspect</code>.</p>
          <Field label="Client secret" id="client-secret"><input id="client-secret" readOnly value={secret.clientSecret} onFocus={(e) => e.currentTarget.select()} /></Field>
          {secret.previousSecretsExpireAt && <p>The secret it replaces keeps working until <Time iso={secret.previousSecretsExpireAt} />.</p>}
          <div class="actions"><button type="button" onClick={() => setSecret(undefined)}>Done</button></div>
        </Dialog>
      )}
      {ending && (
        <ConfirmDialog title={`End the client secrets of ${ending.name}`} action="End secrets" error={error} onConfirm={() => void endSecrets(ending)} onClose={() => setEnding(undefined)}>
          <p>Every client secret of it stops working now, the one it replaced included (for a leaked secret). Its declaration stays; make a new secret to use HTTP Basic again.</p>
        </ConfirmDialog>
      )}
      {deleting && (
        <ConfirmDialog title={`Delete ${deleting.name}`} action="Delete" error={error} onConfirm={() => void remove(deleting)} onClose={() => setDeleting(undefined)}>
          <p>It will see every token of the org again, as an undeclared caller, and its client secrets stop working.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function DeclareDialog({ server, onClose, onSaved }: { server: Server | undefined; onClose: () => void; onSaved: () => void }) {
  const [form, setForm] = useState({ sub: server?.sub ?? '', name: server?.name ?? '', audience: server?.audience ?? '' });
  const [error, setError] = useState<ApiError>();
  const set = (field: keyof typeof form) => (e: Event) => setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('put', '/v1/resource-servers/{sub}', { path: { sub: form.sub.trim() }, body: { name: form.name, audience: form.audience.trim() } });
      onSaved();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, undefined));
    }
  };
  const fieldError = (path: string) => error?.field(path);
  const named = ['path.sub', 'body.name', 'body.audience'].some((p) => fieldError(p));
  return (
    <Dialog title={server ? `Edit ${server.name}` : 'Declare a resource server'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label="Client id (the sub of its token)" id="rs-sub" error={fieldError('path.sub')}>
          <input id="rs-sub" value={form.sub} readOnly={server !== undefined} onInput={set('sub')} autoComplete="off" aria-invalid={fieldError('path.sub') ? true : undefined} />
        </Field>
        <Field label="Name" id="rs-name" error={fieldError('body.name')}>
          <input id="rs-name" value={form.name} onInput={set('name')} aria-invalid={fieldError('body.name') ? true : undefined} />
        </Field>
        <Field label="Audience" id="rs-audience" hint="Usually its URL, as tokens name it" error={fieldError('body.audience')}>
          <input id="rs-audience" value={form.audience} onInput={set('audience')} aria-describedby="rs-audience-hint" aria-invalid={fieldError('body.audience') ? true : undefined} />
        </Field>
        {error && !named && <ErrorNotice error={error} />}
        <div class="actions">
          <button type="submit">Save</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
