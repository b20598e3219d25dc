import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SignJWT, UnsecuredJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localIssuer, type LocalIssuer } from '../../local/jwt.js';
import { ALL_SCOPES } from '../support/api.js';
import { assertDocumented, httpResponseProblems } from '../support/openapi.js';

// Logs at the most verbose level, so the secrets scan below sees everything the service can log.
process.env.LOG_LEVEL = 'DEBUG';

const ISSUER = 'urn:test-issuer';
const AUDIENCE = 'oauth-usage';
let server: Server;
let base: string;
let issuer: LocalIssuer;
let jwtDir: string;
/** The local issuer's private key, to sign tokens it would never mint. */
const signingKeyOf = () => JSON.parse(readFileSync(join(jwtDir, 'jwt-signing-key.json'), 'utf8')) as JWK;
const output: string[] = [];

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(String(chunk));
      if (String(chunk).startsWith('{"level"')) return true; // captured, not echoed
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    });
  }
  jwtDir = mkdtempSync(join(tmpdir(), 'ou-jwt-'));
  issuer = await localIssuer(jwtDir, ISSUER, AUDIENCE);
  const { createLocalApi } = await import('../../local/http-server.js');
  server = await createLocalApi(issuer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // /oauth2/introspect verifies bearer JWTs in its function, against this issuer's keys.
  Object.assign(process.env, { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_JWKS_URL: `${base}/.well-known/jwks.json` });
});

afterAll(() => {
  vi.restoreAllMocks();
  server?.close();
});

const mint = (org = 'org-http', scope = ALL_SCOPES) => issuer.mint({ sub: 'admin', org_id: org, org_edition: 'Developer', scope });
/** fetch, and every API answer checked against docs/openapi.json, as the gateway's own answers too. */
async function fetchApi(url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, init);
  const { pathname } = new URL(url);
  if (!pathname.startsWith('/.well-known/')) {
    const text = await response.clone().text();
    assertDocumented(httpResponseProblems(init.method ?? 'GET', pathname, { status: response.status, headers: Object.fromEntries(response.headers), text }));
  }
  return response;
}
const get = async (path: string, jwt?: string) => fetchApi(`${base}${path}`, { headers: jwt ? { authorization: `Bearer ${jwt}` } : {} });
const postJson = async (path: string, jwt: string, body: unknown) =>
  fetchApi(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the local HTTP API', () => {
  it('serves GET /health and GET /openapi.json without a token and publishes its JWKS', async () => {
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const document = await get('/openapi.json');
    expect(document.status).toBe(200);
    expect(((await document.json()) as { openapi: string; paths: Record<string, unknown> }).paths).toHaveProperty(['/v1/apps/{appId}/revocations']);
    const jwks = (await (await get('/.well-known/jwks.json')).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('answers API Gateway\'s own 401 for a missing, forged, unsigned, expired or misaddressed JWT', async () => {
    const claims = { sub: 'a', org_id: 'org-http', org_edition: 'Developer', scope: ALL_SCOPES };
    const { privateKey } = await generateKeyPair('RS256');
    // Same kid as the real key, signed by another key.
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: issuer.jwks.keys[0]?.kid ?? 'x' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').sign(privateKey);
    const unsigned = new UnsecuredJWT(claims).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').encode();
    const expired = await issuer.mint({ ...claims }, -60);
    const signed = (build: (jwt: SignJWT) => SignJWT) => build(new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: issuer.jwks.keys[0]?.kid ?? 'x' }).setIssuer(ISSUER).setAudience(AUDIENCE));
    const key = await importJWK(signingKeyOf(), 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const noExp = await signed((j) => j).sign(key);
    const notYet = await signed((j) => j.setExpirationTime('1h').setNotBefore(now + 120)).sign(key);
    const issuedLater = await signed((j) => j.setExpirationTime('1h').setIssuedAt(now + 120)).sign(key);
    for (const jwt of [undefined, 'not-a-jwt', forged, unsigned, expired, noExp, notYet, issuedLater]) {
      const reply = await get('/v1/apps/some-app', jwt);
      expect(reply.status, String(jwt)).toBe(401);
      expect(reply.headers.get('content-type')).toBe('application/json');
      expect(await reply.json()).toEqual({ message: 'Unauthorized' });
      expect(reply.headers.get('www-authenticate')).toBe(jwt === undefined ? 'Bearer' : 'Bearer error="invalid_token"');
    }
    // Within a minute of clock skew, as API Gateway allows.
    const skewed = await signed((j) => j.setExpirationTime('1h').setNotBefore(now + 30).setIssuedAt(now + 30)).sign(key);
    expect((await get('/v1/apps/some-app', skewed)).status).toBe(404);
    const otherAudience = await localIssuer(mkdtempSync(join(tmpdir(), 'ou-jwt-')), ISSUER, 'someone-else');
    expect((await get('/v1/apps/some-app', await otherAudience.mint(claims))).status).toBe(401);
  });

  it('answers 401 to an unknown route or method without a token (no function runs), 404 and 405 with one', async () => {
    for (const [path, method] of [['/v1/nothing-here', 'GET'], ['/v1/tokens', 'GET'], ['/anything', 'DELETE']] as const) {
      const anonymous = await fetchApi(`${base}${path}`, { method });
      expect([anonymous.status, await anonymous.json()], `${method} ${path}`).toEqual([401, { message: 'Unauthorized' }]);
    }
    const unknown = await get('/v1/nothing-here', await mint());
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { type: string }).type).toMatch(/not-found$/);
    const wrongMethod = await fetchApi(`${base}/v1/tokens`, { method: 'GET', headers: { authorization: `Bearer ${await mint()}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(wrongMethod.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a body by size as deployed: 413 problem+json over 64 KiB, the integration\'s 500 past Lambda\'s 6 MB, the gateway\'s 413 past 10 MB', async () => {
    const post = async (bytes: number) => {
      const body = JSON.stringify({ name: 'x'.repeat(bytes) });
      const answer = await fetch(`${base}/v1/apps`, { method: 'POST', headers: { authorization: `Bearer ${await mint()}`, 'content-type': 'application/json' }, body });
      return [answer.status, answer.headers.get('content-type'), await answer.text()];
    };
    const [status, type, text] = await post(100 * 1024);
    expect([status, type]).toEqual([413, 'application/problem+json']);
    expect((JSON.parse(text as string) as { type: string }).type).toMatch(/payload-too-large$/);
    expect(await post(7 * 1024 * 1024)).toEqual([500, 'application/json', '{"message":"Internal Server Error"}']);
    expect(await post(11 * 1024 * 1024)).toEqual([413, 'application/json', '{"message":"Request Entity Too Large"}']);
    // A form body reaches Lambda base64-encoded, a third larger: 5 MB of it is past Lambda's 6 MB already.
    const form = await fetch(`${base}/oauth2/introspect`, { method: 'POST', headers: { authorization: `Bearer ${await mint()}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${'x'.repeat(5 * 1024 * 1024)}` });
    expect([form.status, await form.text()]).toEqual([500, '{"message":"Internal Server Error"}']);
  });

  it('works with an off-the-shelf RFC 7662 / RFC 7009 client (oauth4webapi)', async () => {
    const jwt = await mint();
    expect((await postJson('/v1/apps', jwt, { appId: 'oauth-lib', name: 'OAuth lib' })).status).toBe(201);
    const raw = 'library-client-token-0123456789';
    expect((await postJson('/v1/tokens', jwt, { token: raw, type: 'access', appId: 'oauth-lib', userId: 'lib-user', scopes: ['api'] })).status).toBe(201);

    const as: oauth.AuthorizationServer = { issuer: base, introspection_endpoint: `${base}/oauth2/introspect`, revocation_endpoint: `${base}/oauth2/revoke` };
    const client: oauth.Client = { client_id: 'resource-server' };
    const options = { [oauth.allowInsecureRequests]: true };
    // Resource servers authenticate with a client-credentials JWT (CONTRACT.md §1), sent as a bearer token.
    const bearer: oauth.ClientAuth = (_as, _client, _body, headers) => headers.set('authorization', `Bearer ${jwt}`);

    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearer, raw, options));
    expect(active).toMatchObject({ active: true, client_id: 'oauth-lib', sub: 'lib-user', scope: 'api', token_type: 'Bearer', token_use: 'access' });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, bearer, raw, options));
    const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearer, raw, options));
    expect(after).toEqual({ active: false });
  });

  it('authenticates resource servers with HTTP Basic client credentials, as Spring Security\'s opaque-token introspector and oauth4webapi send them', async () => {
    const admin = await mint('org-basic');
    expect((await postJson('/v1/apps', admin, { appId: 'orders', name: 'Orders' })).status).toBe(201);
    const register = (token: string, audience?: string[]) => postJson('/v1/tokens', admin, { token, type: 'access', appId: 'orders', userId: 'ada', scopes: ['orders:read'], ...(audience ? { audience } : {}) });
    const [mine, theirs] = ['orders-token-0123456789abcdef', 'billing-token-0123456789abcdef'];
    expect((await register(mine, ['https://orders.example'])).status).toBe(201);
    expect((await register(theirs, ['https://billing.example'])).status).toBe(201);
    const put = await fetchApi(`${base}/v1/resource-servers/orders%20api`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{"name":"Orders API","audience":"https://orders.example"}' });
    expect(put.status).toBe(400); // a space is in no id
    const declared = await fetchApi(`${base}/v1/resource-servers/orders-api`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{"name":"Orders API","audience":"https://orders.example"}' });
    expect(declared.status).toBe(201);
    const made = await fetchApi(`${base}/v1/resource-servers/orders-api/secret`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    expect(made.status).toBe(201);
    const { clientId, clientSecret } = (await made.json()) as { clientId: string; clientSecret: string };
    expect(clientId).toBe('orders-api');

    // SpringOpaqueTokenIntrospector: a form body, `Accept: application/json`, and the credentials
    // form-encoded, then Basic (RFC 6749 §2.3.1).
    const spring = (secret: string, token: string) => fetchApi(`${base}/oauth2/introspect`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    const active = await spring(clientSecret, mine);
    expect(active.status).toBe(200);
    expect(await active.json()).toMatchObject({ active: true, client_id: 'orders', sub: 'ada', scope: 'orders:read', token_type: 'Bearer', aud: 'https://orders.example' });
    // Its audience only: another API's token is inactive to it.
    expect(await (await spring(clientSecret, theirs)).json()).toEqual({ active: false });
    const wrong = await spring(`${clientSecret.slice(0, -2)}xx`, mine);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });

    const as: oauth.AuthorizationServer = { issuer: base, introspection_endpoint: `${base}/oauth2/introspect` };
    const client: oauth.Client = { client_id: clientId };
    const options = { [oauth.allowInsecureRequests]: true };
    const viaLibrary = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(clientSecret), mine, options));
    expect(viaLibrary).toMatchObject({ active: true, client_id: 'orders', aud: 'https://orders.example' });

    // A new secret: the one it replaces keeps working through the overlap; once the declaration is deleted, neither does.
    const next = (await (await fetchApi(`${base}/v1/resource-servers/orders-api/secret`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } })).json()) as { clientSecret: string };
    for (const secret of [clientSecret, next.clientSecret]) expect((await spring(secret, mine)).status).toBe(200);
    expect((await fetchApi(`${base}/v1/resource-servers/orders-api`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(204);
    for (const secret of [clientSecret, next.clientSecret]) expect((await spring(secret, mine)).status).toBe(401);
    // The bearer path verifies the JWT in the function, as the gateway would.
    const noToken = await fetchApi(`${base}/oauth2/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${mine}` });
    expect(noToken.status).toBe(401);
    const forged = await fetchApi(`${base}/oauth2/introspect`, { method: 'POST', headers: { authorization: 'Bearer not-a-jwt', 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${mine}` });
    expect(forged.status).toBe(401);
  });

  it('answers CORS preflights without a token, for the origins in CONSOLE_ORIGINS only, and exposes the headers the console reads', async () => {
    const consoleOrigin = 'https://console.example';
    process.env.CONSOLE_ORIGINS = `${consoleOrigin}, http://127.0.0.1:5173`;
    try {
      const preflight = (origin: string) => fetch(`${base}/v1/apps/orders/revocations`, {
        method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
      });
      const allowed = await preflight(consoleOrigin);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(consoleOrigin);
      expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
      expect(allowed.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'if-match']));
      // Another origin: no CORS headers, so the browser refuses the call.
      const other = await preflight('https://evil.example');
      expect([other.status, other.headers.get('access-control-allow-origin')]).toEqual([204, null]);
      // The call itself: the console's origin may read the answer and its ETag, Location, Retry-After and RateLimit headers.
      const answer = await fetch(`${base}/v1/apps`, { headers: { origin: consoleOrigin, authorization: `Bearer ${await mint()}` } });
      expect(answer.headers.get('access-control-allow-origin')).toBe(consoleOrigin);
      expect(answer.headers.get('access-control-expose-headers')?.split(',')).toEqual(expect.arrayContaining(['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy']));
      // The gateway's own answers carry none: AWS documents CORS headers on integrations' answers only.
      const unauthorized = await fetch(`${base}/v1/apps`, { headers: { origin: consoleOrigin } });
      expect([unauthorized.status, unauthorized.headers.get('access-control-allow-origin')]).toEqual([401, null]);
      const tooLarge = await fetch(`${base}/v1/apps`, { method: 'POST', headers: { origin: consoleOrigin, authorization: `Bearer ${await mint()}` }, body: 'x'.repeat(10 * 1024 * 1024 + 1) });
      expect([tooLarge.status, tooLarge.headers.get('access-control-allow-origin')]).toEqual([413, null]);
    } finally {
      delete process.env.CONSOLE_ORIGINS;
    }
  });

  it('never stores or logs a raw token value or a bearer JWT', async () => {
    const jwt = await mint('org-secrets');
    await postJson('/v1/apps', jwt, { appId: 'secrets', name: 'Secrets' });
    const raws = ['raw-secret-value-AAAAAAAAAAAAAAAA', 'raw-secret-value-BBBBBBBBBBBBBBBB'];
    await postJson('/v1/tokens', jwt, { token: raws[0], type: 'refresh', appId: 'secrets', userId: 'u' });
    await postJson('/v1/tokens', jwt, { token: raws[1], type: 'access', appId: 'secrets', userId: 'u' });
    await postJson('/v1/tokens', jwt, { token: raws[1], type: 'access', appId: 'secrets', userId: 'someone-else' }); // 409
    await postJson('/v1/tokens', jwt, { token: raws[0], type: 'access', appId: 'secrets', userId: 'u', bogus: 1 }); // 400
    const form = (token: string) => ({ method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
    await fetchApi(`${base}/oauth2/introspect`, form(raws[1] as string));
    // A resource server's client secret, made and used with HTTP Basic, is neither stored nor logged either.
    await fetchApi(`${base}/v1/resource-servers/logged-rs`, { method: 'PUT', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: '{"name":"RS","audience":"https://rs.example"}' });
    const { clientSecret } = (await (await fetchApi(`${base}/v1/resource-servers/logged-rs/secret`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` } })).json()) as { clientSecret: string };
    const basic = await fetchApi(`${base}/oauth2/introspect`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`logged-rs:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${raws[1] as string}`,
    });
    expect(basic.status).toBe(200);
    await fetchApi(`${base}/oauth2/revoke`, form(raws[0] as string));

    const { db, TableName } = await import('../../shared/db/client.js');
    const items = JSON.stringify((await db.send(new ScanCommand({ TableName }))).Items);
    expect(items).toContain('secrets'); // the scan did see this org's data
    const logs = output.join('');
    expect(logs).toContain('"message":"request"'); // and the logs were captured
    for (const secret of [...raws, jwt, clientSecret]) {
      expect(items).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
