import { useState } from 'preact/hooks';
import { api, ApiError, enc, type Schemas } from '../api.js';
import type { Access } from '../auth.js';
import { ConfirmDialog, count, ErrorNotice, Time, UsageOverTime, useLoad, usePaging, scrollingTable } from '../ui.js';

type TokenRow = Schemas['Token'];

/** The tokens of one grant on this page: its refresh tokens (current first, then the rotated-out ones, newest first) and its access tokens. */
interface GrantGroup {
  grantId: string | null;
  tokens: TokenRow[];
}

/** Groups a page's tokens by grant, in the order each grant first appears; access tokens issued without a refresh token last. */
function byGrant(tokens: TokenRow[]): GrantGroup[] {
  const groups = new Map<string | null, TokenRow[]>();
  for (const token of tokens) groups.set(token.grantId, [...(groups.get(token.grantId) ?? []), token]);
  const rank = (t: TokenRow) => (t.type === 'refresh' ? (t.retiredAt === null ? 0 : 1) : 2);
  const ordered = [...groups].map(([grantId, members]) => ({
    grantId,
    tokens: members.sort((a, b) => rank(a) - rank(b) || (b.retiredAt ?? b.issuedAt).localeCompare(a.retiredAt ?? a.issuedAt)),
  }));
  return [...ordered.filter((g) => g.grantId !== null), ...ordered.filter((g) => g.grantId === null)];
}

/** What a Revoke targets: one access token, or a whole grant (through any of its refresh tokens). */
type Target = { kind: 'token'; token: TokenRow } | { kind: 'grant'; group: GrantGroup; via: string };

const label = (t: TokenRow) => (t.type === 'access' ? 'Access' : t.retiredAt === null ? 'Refresh (current)' : 'Refresh (rotated out)');

/** One user's tokens for one app, grouped by grant: Revoke on an access token, or on a whole grant. */
export function TokensPage({ appId, userId, access }: { appId: string; userId: string; access: Access }) {
  const { cursor, pager } = usePaging(`${appId}\n${userId}`);
  const tokens = useLoad(() => api('get', '/v1/apps/{appId}/users/{userId}/tokens', { path: { appId, userId }, query: { cursor, limit: 50 } }).then((r) => r.body), [appId, userId, cursor]);
  const [revoking, setRevoking] = useState<Target>();
  // One key per Revoke dialog, as every revocation carries: a double click or a retry is one call.
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  const revoke = async (target: Target) => {
    try {
      const tokenId = target.kind === 'token' ? target.token.tokenId : target.via;
      await api('delete', '/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', { path: { appId, userId, tokenId }, headers: { 'idempotency-key': idempotencyKey } });
      setRevoking(undefined);
      setDone(target.kind === 'token' ? 'The access token was revoked.' : 'The grant was revoked: every token of it stopped working.');
      tokens.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, undefined));
    }
  };
  const ask = (target: Target) => {
    setError(undefined);
    setIdempotencyKey(crypto.randomUUID());
    setRevoking(target);
  };
  const groups = byGrant(tokens.data?.items ?? []);
  return (
    <section>
      <p class="crumbs"><a href="/">OAuth Usage</a> › <a href={`/apps/${enc(appId)}`}>{appId}</a> › <a href={`/apps/${enc(appId)}/users`}>Usage by User</a></p>
      <h1>Tokens of {userId}</h1>
      <p class="lead">Each grant is one sign-in: its refresh token (and the ones it replaced) and the access tokens issued from them. Revoking a grant ends all of them.</p>
      <p role="status">{done}</p>
      <UsageOverTime source={`${appId}\n${userId}`} label={`Uses of ${appId} by ${userId} a day`} load={() => api('get', '/v1/apps/{appId}/users/{userId}/usage', { path: { appId, userId } }).then((r) => r.body)} />
      {tokens.error ? <ErrorNotice error={tokens.error} retry={tokens.reload} /> : (
        <div {...scrollingTable(`Tokens of ${userId} for ${appId}`)} aria-busy={tokens.loading}>
          <table>
            <caption class="visually-hidden">Tokens of {userId} for {appId}, by grant</caption>
            <thead><tr><th scope="col">Type</th><th scope="col">Scopes</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col" class="num">Uses</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            {groups.map((group) => {
              const refresh = group.tokens.find((t) => t.type === 'refresh');
              const name = group.grantId === null ? 'Issued without a refresh token' : `Grant ${group.grantId}`;
              return (
                <tbody key={group.grantId ?? ''}>
                  <tr class="group">
                    <th scope="rowgroup" colSpan={6}>{name} <span class="muted">· {count(group.tokens.length)} {group.tokens.length === 1 ? 'token' : 'tokens'}</span></th>
                    {/* A grant is revoked through one of its refresh tokens: one of them must be on this page. */}
                    <td>{access.manage && refresh && (
                      <button type="button" class="danger small" aria-label={`Revoke grant ${group.grantId}`} onClick={() => ask({ kind: 'grant', group, via: refresh.tokenId })}>Revoke grant</button>
                    )}</td>
                  </tr>
                  {group.tokens.map((t) => (
                    <tr key={t.tokenId} class={t.retiredAt === null ? undefined : 'retired'}>
                      <th scope="row">{label(t)}<small><code>{t.tokenId}</code></small>{t.retiredAt !== null && <small>Rotated out <Time iso={t.retiredAt} /></small>}{t.learnedFrom !== null && <small class="learned">Learned from <a href="/issuers">{t.learnedFrom}</a></small>}</th>
                      <td>{t.scopes.join(' ') || <span class="muted">None</span>}</td>
                      <td><Time iso={t.issuedAt} /></td>
                      <td><Time iso={t.expiresAt} never="Until revoked" /></td>
                      <td><Time iso={t.lastUsedAt} /></td>
                      <td class="num">{count(t.useCount)}</td>
                      <td>{access.manage && t.type === 'access' && <button type="button" class="danger small" aria-label={`Revoke access token ${t.tokenId}`} onClick={() => ask({ kind: 'token', token: t })}>Revoke</button>}</td>
                    </tr>
                  ))}
                </tbody>
              );
            })}
          </table>
          {tokens.data && tokens.data.items.length === 0 && <p class="empty">{userId} holds no active token for this app.</p>}
          {tokens.data && pager(tokens.data.nextCursor)}
        </div>
      )}
      {revoking && (
        <ConfirmDialog title={revoking.kind === 'token' ? 'Revoke this access token' : 'Revoke this grant'} action="Revoke" error={error} onConfirm={() => void revoke(revoking)} onClose={() => setRevoking(undefined)}>
          <p>{revoking.kind === 'token'
            ? 'It stops working at once.'
            : `Its refresh tokens and every access token issued from them stop working at once (${count(revoking.group.tokens.length)} listed here), and the app cannot refresh it again.`}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
