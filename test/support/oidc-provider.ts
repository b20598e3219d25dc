import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real oidc-provider on loopback, as an org would run it with resource indicators (RFC 8707):
 * access tokens for `resource` are RFC 9068 JWTs signed with ES256 and served by its own JWKS.
 * A user signs in through its development interactions (the login and consent forms, posted as
 * a browser would), so tokens come from the real authorization code + PKCE exchange.
 */
export interface RunningProvider {
  issuer: string;
  jwksUri: string;
  /** Authorization code + PKCE for `user`, with `offline_access`: the token endpoint's answer. */
  signIn(user: string): Promise<TokenAnswer>;
  refresh(refreshToken: string): Promise<TokenAnswer>;
  clientCredentials(): Promise<TokenAnswer>;
  close(): Promise<void>;
}

export interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  scope: string;
  expires_in: number;
}

export const CLIENT_ID = 'orders-web';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const REDIRECT_URI = 'http://127.0.0.1/callback';

export async function startOidcProvider({ resource, scope }: { resource: string; scope: string }): Promise<RunningProvider> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI], response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'es-1', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, accountId) => Promise.resolve({ accountId, claims: () => ({ sub: accountId }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
          return { scope, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
  });
  const handle = provider.callback();
  server.on('request', (request, response) => void handle(request, response));

  const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
  const tokenCall = async (form: Record<string, string>): Promise<TokenAnswer> => {
    const answer = await fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    const body = (await answer.json()) as TokenAnswer & { error?: string };
    if (!answer.ok) throw new Error(`token endpoint: ${answer.status} ${JSON.stringify(body)}`);
    return body;
  };

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    async signIn(user) {
      const verifier = randomBytes(32).toString('base64url');
      const authorize = new URL(`${issuer}/auth`);
      authorize.search = new URLSearchParams({
        client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope: `openid offline_access ${scope}`, prompt: 'consent',
        resource, state: randomBytes(8).toString('hex'), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      }).toString();
      const code = await new Browser().authorize(authorize.href, user);
      return tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource });
    },
    refresh: (refreshToken) => tokenCall({ grant_type: 'refresh_token', refresh_token: refreshToken, resource }),
    clientCredentials: () => tokenCall({ grant_type: 'client_credentials', scope, resource }),
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
