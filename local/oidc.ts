import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalIssuer } from './jwt.js';
import { SUPPORTED_EDITIONS } from '../shared/editions.js';

/**
 * The local server as an OpenID Connect provider for the console, so that `npm start` needs no
 * identity provider: discovery, an authorization endpoint with a development sign-in form (Org,
 * Edition, User, Scopes) that keeps a session cookie, a token endpoint that checks the PKCE
 * verifier (S256), the JWKS, and an end-session endpoint. Only public clients with PKCE, only
 * redirects to the exact URIs of the console on this server; the form refuses a cross-site post
 * (login CSRF) and cannot be framed; sessions and codes expire and are bounded in number; sign-out
 * needs the session's ID token (RP-initiated logout), or a confirmation posted from this origin.
 * This exists only here, never in AWS.
 */
export interface LocalOidcOptions {
  issuer: LocalIssuer;
  /** `http://127.0.0.1:<port>`: the tokens' `iss`, and this server's origin. */
  issuerUrl: string;
  clientId: string;
  /**
   * The origins the console is served from (CONSOLE_ORIGINS; this server's own by default): the
   * client's registered redirect URIs are their `/callback`, its post-logout ones their `/`.
   */
  consoleOrigins?: string[];
}

interface Grant {
  claims: { sub: string; org_id: string; org_edition: string; scope: string };
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | undefined;
  expiresAt: number;
}

const CODE_TTL_MS = 60_000;
const SESSION_TTL_MS = 8 * 3_600_000;
/** At most this many live sessions and codes: the oldest go first. */
const MAX_ENTRIES = 1000;
/** The provider's pages: nothing loaded, never framed; the form posts here and its answer redirects to a console's callback. */
const pageHeaders = (consoleOrigins: string[]) => ({
  'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY',
  'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${consoleOrigins.join(' ')}; frame-ancestors 'none'; base-uri 'none'`,
});
const SESSION_COOKIE = 'ou_local_session';
/** What the form is prefilled with. */
const DEFAULTS = { org: 'acme', edition: 'Developer', user: 'admin@acme.example', scopes: 'usage:read apps:manage' };
/** The supported editions, and one that is not, to try the console's answer to it. */
const EDITIONS = [...SUPPORTED_EDITIONS, 'Essentials'];

export const oidcPaths = new Set(['/.well-known/openid-configuration', '/authorize', '/token', '/logout']);

export function createLocalOidc({ issuer, issuerUrl, clientId, consoleOrigins = [issuerUrl] }: LocalOidcOptions) {
  const codes = new Map<string, Grant>();
  const sessions = new Map<string, { claims: Grant['claims']; expiresAt: number }>();
  const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
  // The console's registered URIs, exactly: no other path, query or origin is a redirect target.
  const PAGE_HEADERS = pageHeaders(consoleOrigins);
  const redirectUris = new Set(consoleOrigins.map((origin) => `${origin}/callback`));
  const postLogoutUris = new Set(consoleOrigins.map((origin) => `${origin}/`));
  /** Adds an entry, first dropping expired ones and, past the bound, the oldest. */
  const remember = <T extends { expiresAt: number }>(map: Map<string, T>, key: string, value: T) => {
    const now = Date.now();
    for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
    while (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
    map.set(key, value);
  };
  const liveSession = (req: IncomingMessage) => {
    const entry = sessions.get(cookie(req, SESSION_COOKIE) ?? '');
    return entry && entry.expiresAt > Date.now() ? entry.claims : undefined;
  };
  /** A form posted from this origin (the browser's Origin, or Sec-Fetch-Site): not from another site. */
  const sameOrigin = (req: IncomingMessage) => req.headers.origin === issuerUrl || (req.headers.origin === undefined && req.headers['sec-fetch-site'] === 'same-origin');

  const discovery = {
    issuer: issuerUrl,
    authorization_endpoint: `${issuerUrl}/authorize`,
    token_endpoint: `${issuerUrl}/token`,
    jwks_uri: `${issuerUrl}/.well-known/jwks.json`,
    end_session_endpoint: `${issuerUrl}/logout`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'usage:read', 'apps:manage'],
  };

  /** Answers the request if it is one of the provider's; false otherwise. */
  return async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<boolean> {
    const url = new URL(req.url ?? '/', issuerUrl);
    if (!oidcPaths.has(url.pathname)) return false;
    const method = req.method ?? 'GET';
    if (url.pathname === '/.well-known/openid-configuration' && method === 'GET') return json(res, 200, discovery);
    if (url.pathname === '/authorize' && (method === 'GET' || method === 'POST')) return authorize(req, res, url, method === 'POST' ? new URLSearchParams(body) : undefined);
    if (url.pathname === '/token' && method === 'POST') return token(res, new URLSearchParams(body));
    if (url.pathname === '/logout' && (method === 'GET' || method === 'POST')) return logout(req, res, method === 'POST' ? new URLSearchParams(body) : url.searchParams, method);
    return json(res, 405, { error: 'invalid_request', error_description: `${method} is not allowed here` });
  };

  function authorize(req: IncomingMessage, res: ServerResponse, url: URL, form: URLSearchParams | undefined): boolean {
    const params = form ?? url.searchParams;
    const request = {
      clientId: params.get('client_id'), redirectUri: params.get('redirect_uri'), responseType: params.get('response_type'),
      codeChallenge: params.get('code_challenge'), method: params.get('code_challenge_method'), state: params.get('state'), nonce: params.get('nonce'),
    };
    // Nothing is redirected anywhere but the console's exact callback.
    if (request.clientId !== clientId || request.redirectUri === null || !redirectUris.has(request.redirectUri)) {
      res.writeHead(400, PAGE_HEADERS);
      res.end(page('Sign-in refused', '<p>Unknown client or redirect URI.</p>'));
      return true;
    }
    // Login CSRF: another site's page posting the form would sign the browser in as whoever it chose.
    if (form && !sameOrigin(req)) {
      res.writeHead(403, PAGE_HEADERS);
      res.end(page('Sign-in refused', '<p>The sign-in form was not sent from this server.</p>'));
      return true;
    }
    const redirect = new URL(request.redirectUri);
    const fail = (error: string, description: string) => {
      redirect.search = new URLSearchParams({ error, error_description: description, ...(request.state ? { state: request.state } : {}) }).toString();
      res.writeHead(302, { location: redirect.toString() });
      res.end();
      return true;
    };
    if (request.responseType !== 'code') return fail('unsupported_response_type', 'only code');
    if (!request.codeChallenge || request.method !== 'S256') return fail('invalid_request', 'PKCE with S256 is required');

    let claims = liveSession(req);
    const headers: Record<string, string> = {};
    if (form) {
      claims = {
        sub: form.get('user')?.trim() || DEFAULTS.user,
        org_id: form.get('org')?.trim() || DEFAULTS.org,
        org_edition: form.get('edition')?.trim() || DEFAULTS.edition,
        scope: (form.get('scopes') ?? DEFAULTS.scopes).trim().split(/\s+/).filter(Boolean).join(' '),
      };
      const session = randomBytes(18).toString('base64url');
      remember(sessions, session, { claims, expiresAt: Date.now() + SESSION_TTL_MS });
      headers['set-cookie'] = `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_TTL_MS / 1000}`;
    }
    if (!claims) {
      res.writeHead(200, PAGE_HEADERS);
      res.end(signInForm(url.searchParams));
      return true;
    }
    const code = randomBytes(24).toString('base64url');
    remember(codes, code, {
      claims, clientId, redirectUri: request.redirectUri, codeChallenge: request.codeChallenge,
      nonce: request.nonce ?? undefined, expiresAt: Date.now() + CODE_TTL_MS,
    });
    redirect.search = new URLSearchParams({ code, ...(request.state ? { state: request.state } : {}), iss: issuerUrl }).toString();
    res.writeHead(302, { ...headers, location: redirect.toString() });
    res.end();
    return true;
  }

  /**
   * RP-initiated logout: with the session's ID token (`id_token_hint`, verified) it ends the
   * session at once; without one it asks, and only a confirmation posted from this origin does.
   */
  async function logout(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, method: string): Promise<boolean> {
    const hinted = params.get('id_token_hint');
    const proven = hinted ? (await issuer.verifyIdToken(hinted, clientId)) !== undefined : false;
    if (!proven && !(method === 'POST' && sameOrigin(req))) {
      res.writeHead(200, PAGE_HEADERS);
      res.end(page('Sign out', `<h1>Sign out</h1><form method="post" action="/logout"><button type="submit">Sign out</button></form>`));
      return true;
    }
    const session = cookie(req, SESSION_COOKIE);
    if (session) sessions.delete(session);
    const asked = params.get('post_logout_redirect_uri');
    const back = asked !== null && postLogoutUris.has(asked) ? asked : undefined;
    res.writeHead(back ? 302 : 200, {
      'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
      ...(back ? { location: back } : PAGE_HEADERS),
    });
    res.end(back ? '' : page('Signed out', '<p>You are signed out.</p>'));
    return true;
  }

  async function token(res: ServerResponse, form: URLSearchParams): Promise<boolean> {
    const code = form.get('code') ?? '';
    const grant = codes.get(code);
    codes.delete(code); // one use only
    const refuse = (description: string) => json(res, 400, { error: 'invalid_grant', error_description: description });
    if (form.get('grant_type') !== 'authorization_code') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'only authorization_code' });
    if (!grant || grant.expiresAt < Date.now()) return refuse('unknown or expired code');
    if (form.get('client_id') !== grant.clientId || form.get('redirect_uri') !== grant.redirectUri) return refuse('client or redirect URI differs');
    if (sha256(form.get('code_verifier') ?? '') !== grant.codeChallenge) return refuse('PKCE verification failed');
    const ttl = 3600;
    res.setHeader('cache-control', 'no-store');
    return json(res, 200, {
      access_token: await issuer.mint(grant.claims, ttl),
      id_token: await issuer.mintIdToken({ sub: grant.claims.sub }, grant.clientId, grant.nonce),
      token_type: 'Bearer',
      expires_in: ttl,
      scope: grant.claims.scope,
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  return (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).find(([k]) => k === name)?.[1];
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · OAuth Usage (local)</title><style>
:root{color-scheme:light dark;font-family:system-ui,sans-serif}body{max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}input,select{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;font-weight:600}p.note{font-size:.9rem;opacity:.8}
</style></head><body><main>${content}</main></body></html>`;
}

/** The development sign-in form; it posts the authorization request back with who signs in. */
function signInForm(request: URLSearchParams): string {
  const hidden = [...request].map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join('');
  const field = (name: string, label: string, value: string) => `<label for="${name}">${label}</label><input id="${name}" name="${name}" value="${escape(value)}" required>`;
  const editions = EDITIONS.map((e) => `<option${e === DEFAULTS.edition ? ' selected' : ''}>${e}</option>`).join('');
  return page('Sign in', `<h1>Sign in</h1>
<p class="note">Development sign-in of the local server: it signs you in as whoever you say. Deployed, the console uses your identity provider.</p>
<form method="post" action="/authorize">${hidden}
${field('org', 'Org', DEFAULTS.org)}
<label for="edition">Edition</label><select id="edition" name="edition">${editions}</select>
${field('user', 'User', DEFAULTS.user)}
${field('scopes', 'Scopes', DEFAULTS.scopes)}
<button type="submit">Sign in</button></form>`);
}
