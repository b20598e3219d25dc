import * as oauth from 'oauth4webapi';

/**
 * Sign-in: OpenID Connect authorization code with PKCE, as a public client. The access token
 * lives in memory only (IETF best current practice for browser-based apps): a reload signs in
 * again, which the identity provider's own session makes silent. Only the PKCE verifier, state,
 * nonce and the page to return to cross the redirect, in sessionStorage.
 */
export interface ConsoleConfig {
  apiUrl: string;
  issuer: string;
  clientId: string;
}

/** What the signed-in admin may do; the API enforces the same scopes. */
export interface Access {
  manage: boolean;
}

export const accessOf = (session: Pick<Session, 'scopes'>): Access => ({ manage: session.scopes.includes('apps:manage') });

export interface Session {
  accessToken: string;
  expiresAt: number;
  /** What the console shows and decides on; the API enforces the same claims itself. */
  sub: string;
  orgId: string;
  edition: string;
  scopes: string[];
  /** For RP-initiated logout (`id_token_hint`): proof that the sign-out comes from this session. */
  idToken: string;
}

const PENDING = 'oauth-usage.sign-in';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

let server: oauth.AuthorizationServer | undefined;
let session: Session | undefined;
let client: oauth.Client;
let config: ConsoleConfig;

/** Plain http only to an issuer on this machine (the local server); everything else must be https. */
export function allowsInsecure(issuer: URL): boolean {
  return issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
}

const options = (issuer: URL) => ({ [oauth.allowInsecureRequests]: allowsInsecure(issuer) });
const callbackUrl = () => `${location.origin}/callback`;

export async function initAuth(loaded: ConsoleConfig): Promise<void> {
  config = loaded;
  client = { client_id: config.clientId };
  const issuer = new URL(config.issuer);
  if (issuer.protocol !== 'https:' && !allowsInsecure(issuer)) throw new Error(`The issuer ${config.issuer} must use https`);
  server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options(issuer) }));
}

export const currentSession = (): Session | undefined => (session && session.expiresAt > Date.now() ? session : undefined);

/** Sends the browser to the identity provider; it comes back to /callback and then to `returnTo`. */
export async function signIn(returnTo: string): Promise<never> {
  const as = server as oauth.AuthorizationServer;
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const url = new URL(as.authorization_endpoint as string);
  url.search = new URLSearchParams({
    client_id: client.client_id, redirect_uri: callbackUrl(), response_type: 'code', scope: 'openid usage:read apps:manage',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
  }).toString();
  // Replacing this page's history entry: after the round trip (/authorize, /callback, then back
  // here by replaceState) Back goes to the page before, not to this one again.
  location.replace(url.toString());
  return new Promise<never>(() => undefined);
}

/** On /callback: trades the code for tokens; returns the page to go back to. */
export async function completeSignIn(): Promise<string> {
  const as = server as oauth.AuthorizationServer;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; nonce: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING);
  if (!pending) throw new Error('This sign-in was not started here; start again');
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, callbackUrl(), pending.verifier, options(new URL(config.issuer)));
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
  const claims = JSON.parse(atob(tokens.access_token.split('.')[1]?.replace(/-/g, '+').replace(/_/g, '/') ?? '')) as Record<string, string | undefined>;
  session = {
    accessToken: tokens.access_token,
    expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
    sub: claims.sub ?? '',
    orgId: claims.org_id ?? '',
    edition: claims.org_edition ?? '',
    scopes: (claims.scope ?? tokens.scope ?? '').split(' ').filter(Boolean),
    idToken: tokens.id_token ?? '',
  };
  return pending.returnTo.startsWith('/') && !pending.returnTo.startsWith('//') ? pending.returnTo : '/';
}

/** Ends the console's session and the identity provider's, then comes back signed out. */
export function signOut(): void {
  const idToken = session?.idToken;
  session = undefined;
  const endSession = server?.end_session_endpoint;
  if (!endSession) return location.assign('/');
  const url = new URL(endSession);
  url.search = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: `${location.origin}/`, ...(idToken ? { id_token_hint: idToken } : {}) }).toString();
  location.assign(url.toString());
}
