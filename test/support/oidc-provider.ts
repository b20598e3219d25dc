import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real oidc-provider on loopback, as an org would run it with resource indicators (RFC 8707):
 * access tokens for `resource` are RFC 9068 JWTs signed with ES256 and served by its own JWKS
 * (without a resource they are opaque, for its userinfo). A user signs in through its development
 * interactions (the login and consent forms, posted as a browser would), so tokens come from the
 * real authorization code + PKCE exchange. `wire` is how a test plugs something into it (the
 * OAuth Usage plug-in: its configuration, then the provider).
 */
export interface RunningProvider {
  issuer: string;
  jwksUri: string;
  /** Authorization code + PKCE for `user`, with `offline_access`: the token endpoint's answer. */
  signIn(user: string, options?: GrantOptions): Promise<TokenAnswer>;
  /** The same sign-in up to the code: the token request's form, to send (or send twice) with `tokenCall`. */
  authorizationCode(user: string, options?: GrantOptions): Promise<Record<string, string>>;
  refresh(refreshToken: string, options?: GrantOptions): Promise<TokenAnswer>;
  clientCredentials(options?: GrantOptions): Promise<TokenAnswer>;
  /** RFC 7009 at the provider, by the client. */
  revoke(token: string, options?: GrantOptions & { hint?: string }): Promise<Response>;
  /** The provider's userinfo endpoint with an access token. */
  userinfo(accessToken: string): Promise<Response>;
  /** The token endpoint's answer as it is, errors included. */
  tokenCall(form: Record<string, string>, options?: GrantOptions): Promise<{ status: number; body: Partial<TokenAnswer> & { error?: string; error_description?: string }; headers: Headers }>;
  close(): Promise<void>;
}

export interface GrantOptions {
  /** The client (default CLIENT_ID). */
  client?: string;
  /** The resource indicator to ask for; null for none (an opaque token for userinfo). Default: the provider's `resource`. */
  resource?: string | null;
  /** A browser session to sign in with again (its cookies kept): oidc-provider then reuses the session's grant. Default: a new browser. */
  session?: string;
}

export interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  scope: string;
  expires_in: number;
}

export interface ProviderClient {
  client_id: string;
  /** A public client (no secret, PKCE only). */
  public?: boolean;
  client_name?: string;
}

export interface ProviderWiring {
  configure(configuration: Configuration): Configuration;
  install(provider: Provider): void;
}

export const CLIENT_ID = 'orders-web';
const REDIRECT_URI = 'http://127.0.0.1/callback';

export async function startOidcProvider({ resource, scope, clients = [{ client_id: CLIENT_ID }], rotateRefreshToken, wire }: {
  resource: string;
  scope: string;
  clients?: ProviderClient[];
  rotateRefreshToken?: Configuration['rotateRefreshToken'];
  wire?: ProviderWiring;
}): Promise<RunningProvider> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secrets = new Map(clients.filter((c) => !c.public).map((c) => [c.client_id, randomBytes(24).toString('base64url')]));
  const configuration: Configuration = {
    clients: clients.map((c) => ({
      client_id: c.client_id, ...(c.client_name ? { client_name: c.client_name } : {}), redirect_uris: [REDIRECT_URI], response_types: ['code'], id_token_signed_response_alg: 'ES256',
      ...(c.public
        ? { token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }
        : { client_secret: secrets.get(c.client_id) as string, grant_types: ['authorization_code', 'refresh_token', 'client_credentials'] }),
    })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'es-1', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, accountId) => Promise.resolve({ accountId, claims: () => ({ sub: accountId, name: `User ${accountId}` }) }),
    ...(rotateRefreshToken !== undefined ? { rotateRefreshToken } : {}),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => (ctx.oidc.params?.resource as string | undefined) ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
          return { scope, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
  };
  const provider = new Provider(issuer, wire ? wire.configure(configuration) : configuration);
  wire?.install(provider);
  const handle = provider.callback();
  server.on('request', (request, response) => void handle(request, response));

  const clientAuth = (client: string): { headers: Record<string, string>; form: Record<string, string> } => {
    const secret = secrets.get(client);
    return secret
      ? { headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}` }, form: {} }
      : { headers: {}, form: { client_id: client } };
  };
  const post = (path: string, form: Record<string, string>, client: string) => {
    const auth = clientAuth(client);
    return fetch(`${issuer}${path}`, { method: 'POST', headers: { ...auth.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...auth.form, ...form }) });
  };
  const resourceOf = (options: GrantOptions): Record<string, string> => {
    const indicator = options.resource === undefined ? resource : options.resource;
    return indicator === null ? {} : { resource: indicator };
  };
  const tokenCall: RunningProvider['tokenCall'] = async (form, options = {}) => {
    const answer = await post('/token', form, options.client ?? CLIENT_ID);
    return { status: answer.status, body: (await answer.json()) as Partial<TokenAnswer>, headers: answer.headers };
  };
  const tokens = async (form: Record<string, string>, options: GrantOptions): Promise<TokenAnswer> => {
    const { status, body } = await tokenCall(form, options);
    if (status !== 200) throw new Error(`token endpoint: ${status} ${JSON.stringify(body)}`);
    return body as TokenAnswer;
  };

  const sessions = new Map<string, Browser>();
  const authorizationCode: RunningProvider['authorizationCode'] = async (user, options = {}) => {
    const client = options.client ?? CLIENT_ID;
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: client, response_type: 'code', redirect_uri: REDIRECT_URI, scope: `openid offline_access ${scope}`, prompt: 'consent',
      ...resourceOf(options), state: randomBytes(8).toString('hex'), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    const browser = options.session ? (sessions.get(options.session) ?? new Browser()) : new Browser();
    if (options.session) sessions.set(options.session, browser);
    const code = await browser.authorize(authorize.href, user);
    return { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...resourceOf(options) };
  };

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    authorizationCode,
    signIn: async (user, options = {}) => tokens(await authorizationCode(user, options), options),
    refresh: (refreshToken, options = {}) => tokens({ grant_type: 'refresh_token', refresh_token: refreshToken, ...resourceOf(options) }, options),
    clientCredentials: (options = {}) => tokens({ grant_type: 'client_credentials', scope, ...resourceOf(options) }, options),
    revoke: (token, options = {}) => post('/token/revocation', { token, ...(options.hint ? { token_type_hint: options.hint } : {}) }, options.client ?? CLIENT_ID),
    tokenCall,
    userinfo: (accessToken) => fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a browser does between the authorization request and the redirect back: cookies kept, redirects followed, the forms posted. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async authorize(url: string, user: string): Promise<string> {
    let next: { url: string; form?: Record<string, string> } = { url };
    for (let step = 0; step < 12; step += 1) {
      const answer = await fetch(next.url, {
        method: next.form ? 'POST' : 'GET', redirect: 'manual',
        headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(next.form ? { body: new URLSearchParams(next.form) } : {}),
      });
      for (const cookie of answer.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';');
        const at = pair.indexOf('=');
        this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const location = answer.headers.get('location');
      if (location) {
        const target = new URL(location, next.url);
        const code = target.searchParams.get('code');
        if (target.href.startsWith(REDIRECT_URI)) {
          if (!code) throw new Error(`authorization refused: ${target.search}`);
          return code;
        }
        next = { url: target.href };
        continue;
      }
      const html = await answer.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`no form to post at ${next.url} (${answer.status}): ${html.slice(0, 300)}`);
      next = { url: new URL(action, next.url).href, form: prompt === 'login' ? { prompt, login: user, password: 'any' } : { prompt } };
    }
    throw new Error('the authorization request did not come back with a code');
  }
}
