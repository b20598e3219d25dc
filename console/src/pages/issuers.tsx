import { useState } from 'preact/hooks';
import { api, ApiError, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, Dialog, ErrorNotice, Field, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type Issuer = Schemas['Issuer'];
type Preset = NonNullable<Issuer['preset']>;

const PRESETS: [Preset | '', string][] = [['', 'None (RFC 9068 claims)'], ['okta', 'Okta'], ['auth0', 'Auth0'], ['cognito', 'Amazon Cognito'], ['entra', 'Microsoft Entra ID'], ['keycloak', 'Keycloak']];
const presetName = (preset: Issuer['preset']) => PRESETS.find(([p]) => p === (preset ?? ''))?.[1] ?? preset;

/**
 * Trusted issuers: identity providers whose JWT access tokens are learned when a resource server
 * first presents them, with no code at the provider; Add (with a preset), and Remove, after
 * which their tokens are inactive.
 */
export function IssuersPage({ access }: { access: Access }) {
  const { cursor, pager } = usePaging('issuers');
  const issuers = useLoad(() => api('get', '/v1/issuers', { query: { cursor, limit: 50 } }).then((r) => r.body), [cursor]);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Issuer>();
  const [error, setError] = useState<ApiError>();
  const remove = async (issuer: Issuer) => {
    setError(undefined);
    try {
      await api('delete', '/v1/issuers/{issuerId}', { path: { issuerId: issuer.issuerId } });
      setRemoving(undefined);
      issuers.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  const items = issuers.data?.items ?? [];
  return (
    <section>
      <h1>Trusted issuers</h1>
      <p class="lead">Identity providers whose JWT access tokens your resource servers introspect here. Each token is learned the first time it is presented: its app and user appear in OAuth Usage, and it can be revoked like any other.</p>
      {access.manage && <p><button type="button" onClick={() => setAdding(true)}>Add an issuer</button></p>}
      {issuers.error ? <ErrorNotice error={issuers.error} retry={issuers.reload} /> : (
        <div {...scrollingTable('Trusted issuers')} aria-busy={issuers.loading}>
          <table>
            <thead><tr><th scope="col">Issuer</th><th scope="col">URL</th><th scope="col">Preset</th><th scope="col">Audiences</th><th scope="col" class="num">Tokens learned</th><th scope="col">Last learned</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((issuer) => (
                <tr key={issuer.issuerId}>
                  <th scope="row">{issuer.issuerId}</th>
                  <td><code>{issuer.issuer}</code></td>
                  <td>{presetName(issuer.preset)}</td>
                  <td>{issuer.audiences.length ? issuer.audiences.map((a) => <code key={a}>{a} </code>) : <span class="muted">None: told by the token</span>}</td>
                  <td class="num">{issuer.learnedTokenCount}</td>
                  <td><Time iso={issuer.lastUsedAt} /></td>
                  <td class="actions-cell">{access.manage && <button type="button" class="danger small" aria-label={`Remove ${issuer.issuerId}`} onClick={() => { setError(undefined); setRemoving(issuer); }}>Remove</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {issuers.data && items.length === 0 && <p class="empty">No issuer is trusted: only tokens your authorization server registers are known.</p>}
          {issuers.data && pager(issuers.data.nextCursor)}
        </div>
      )}
      {adding && <AddDialog onClose={() => setAdding(false)} onSaved={() => { setAdding(false); issuers.reload(); }} />}
      {removing && (
        <ConfirmDialog title={`Remove ${removing.issuerId}`} action="Remove" error={error} onConfirm={() => void remove(removing)} onClose={() => setRemoving(undefined)}>
          <p>Every token learned from it stops working at once, and its new tokens are not learned any more.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function AddDialog({ onClose, onSaved }: { onClose: () => void; onSaved: () => void }) {
  const [form, setForm] = useState({ issuerId: '', preset: '' as Preset | '', issuer: '', jwksUri: '', audiences: '' });
  const [error, setError] = useState<ApiError>();
  const set = (field: keyof typeof form) => (e: Event) => setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    const audiences = form.audiences.split(/[\s,]+/).filter(Boolean);
    try {
      await api('put', '/v1/issuers/{issuerId}', {
        path: { issuerId: form.issuerId.trim() },
        body: { issuer: form.issuer.trim(), jwksUri: form.jwksUri.trim(), ...(form.preset ? { preset: form.preset } : {}), ...(audiences.length ? { audiences } : {}) },
      });
      onSaved();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, undefined));
    }
  };
  const fieldError = (path: string) => error?.field(path);
  const named = ['path.issuerId', 'body.issuer', 'body.jwksUri', 'body.audiences', 'body.preset'].some((p) => fieldError(p));
  const input = (field: 'issuerId' | 'issuer' | 'jwksUri' | 'audiences', path: string, extra: Record<string, string> = {}) => (
    <input id={`issuer-${field}`} value={form[field]} onInput={set(field)} autoComplete="off" aria-invalid={fieldError(path) ? true : undefined} {...extra} />
  );
  return (
    <Dialog title="Add a trusted issuer" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label="Issuer id (your name for it)" id="issuer-issuerId" error={fieldError('path.issuerId')}>{input('issuerId', 'path.issuerId')}</Field>
        <Field label="Preset" id="issuer-preset" error={fieldError('body.preset')}>
          <select id="issuer-preset" value={form.preset} onChange={set('preset')}>{PRESETS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}</select>
        </Field>
        <Field label="Issuer URL (the tokens' iss)" id="issuer-issuer" error={fieldError('body.issuer')}>{input('issuer', 'body.issuer', { type: 'url' })}</Field>
        <Field label="JWKS URL" id="issuer-jwksUri" error={fieldError('body.jwksUri')}>{input('jwksUri', 'body.jwksUri', { type: 'url' })}</Field>
        <Field label="Audiences" id="issuer-audiences" hint="The aud values of its access tokens, separated by spaces or commas; required for Okta, Auth0, Entra ID and Keycloak" error={fieldError('body.audiences')}>
          {input('audiences', 'body.audiences', { 'aria-describedby': 'issuer-audiences-hint' })}
        </Field>
        {error && !named && <ErrorNotice error={error} />}
        <div class="actions">
          <button type="submit">Add</button>
          <button type="button" class="secondary" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
