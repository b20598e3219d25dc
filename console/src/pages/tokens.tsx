import { useState } from 'preact/hooks';
import { api, ApiError, enc, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { count, Dialog, ErrorNotice, Time, useLoad, usePaging, scrollingTable } from '../ui.js';

type TokenRow = Schemas['Token'];

/** One user's active tokens for one app, each with Revoke. */
export function TokensPage({ appId, userId, access }: { appId: string; userId: string; access: Access }) {
  const { cursor, pager } = usePaging(`${appId}\n${userId}`);
  const tokens = useLoad(() => api('get', '/v1/apps/{appId}/users/{userId}/tokens', { path: { appId, userId }, query: { cursor, limit: 50 } }).then((r) => r.body), [appId, userId, cursor]);
  const [revoking, setRevoking] = useState<TokenRow>();
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  const revoke = async (token: TokenRow) => {
    try {
      await api('delete', '/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', { path: { appId, userId, tokenId: token.tokenId } });
      setRevoking(undefined);
      setDone(`The ${token.type} token was revoked${token.type === 'refresh' ? ', with the access tokens issued from it' : ''}.`);
      tokens.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  return (
    <section>
      <p class="crumbs"><a href="/">OAuth Usage</a> › <a href={`/apps/${enc(appId)}`}>{appId}</a> › <a href={`/apps/${enc(appId)}/users`}>Usage by User</a></p>
      <h1>Tokens of {userId}</h1>
      <p role="status">{done}</p>
      {tokens.error ? <ErrorNotice error={tokens.error} retry={tokens.reload} /> : (
        <div {...scrollingTable(`Active tokens of ${userId} for ${appId}`)} aria-busy={tokens.loading}>
          <table>
            <caption class="visually-hidden">Active tokens of {userId} for {appId}</caption>
            <thead><tr><th scope="col">Type</th><th scope="col">Scopes</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col" class="num">Uses</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {tokens.data?.items.map((t) => (
                <tr key={t.tokenId}>
                  <th scope="row">{t.type === 'access' ? 'Access' : 'Refresh'}<small><code>{t.tokenId}</code></small></th>
                  <td>{t.scopes.join(' ') || <span class="muted">None</span>}</td>
                  <td><Time iso={t.issuedAt} /></td>
                  <td><Time iso={t.expiresAt} never="Until revoked" /></td>
                  <td><Time iso={t.lastUsedAt} /></td>
                  <td class="num">{count(t.useCount)}</td>
                  <td>{access.manage && <button type="button" class="danger small" aria-label={`Revoke ${t.type} token ${t.tokenId}`} onClick={() => { setError(undefined); setRevoking(t); }}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {tokens.data && tokens.data.items.length === 0 && <p class="empty">{userId} holds no active token for this app.</p>}
          {tokens.data && pager(tokens.data.nextCursor)}
        </div>
      )}
      {revoking && (
        <Dialog title={`Revoke this ${revoking.type} token`} onClose={() => setRevoking(undefined)}>
          <p>It stops working at once{revoking.type === 'refresh' ? ', and so do the access tokens issued from it' : ''}.</p>
          {error && <ErrorNotice error={error} />}
          <div class="actions">
            <button type="button" class="danger" onClick={() => void revoke(revoking)}>Revoke</button>
            <button type="button" class="secondary" onClick={() => setRevoking(undefined)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
