import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/**
 * A JWT issuer for tests, as identity providers run them: key pairs whose public halves it serves
 * as a JWKS on loopback (at `<base>/<path>/keys`), counting the fetches, and tokens signed with
 * them. Keys can be added and dropped (a rollover), and the keys endpoint can be made to misbehave.
 */
export interface TestIssuer {
  base: string;
  /** The issuer URL of one tenant of the server (`<base>/<path>`): a server holds many. */
  issuer(path: string): string;
  jwksUri(path: string): string;
  sign(payload: JWTPayload, options?: { kid?: string; typ?: string; alg?: string }): Promise<string>;
  /** A new signing key, served from now on; returns its kid. */
  addKey(alg?: 'RS256' | 'ES256'): Promise<string>;
  dropKey(kid: string): void;
  fetches: number;
  /** What the keys endpoint answers instead of the keys (a status, a redirect, a huge body, a hang). */
  misbehave: ((respond: (status: number, body: string, headers?: Record<string, string>) => void) => void) | undefined;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const keys = new Map<string, { alg: string; privateKey: CryptoKey; jwk: JWK }>();
  let counter = 0;
  const state: TestIssuer = {
    base: '', fetches: 0, misbehave: undefined,
    issuer: (path) => `${state.base}/${path}`,
    jwksUri: (path) => `${state.base}/${path}/keys`,
    async addKey(alg = 'RS256') {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      counter += 1;
      const kid = `key-${counter}`;
      keys.set(kid, { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } });
      return kid;
    },
    dropKey: (kid) => void keys.delete(kid),
    async sign(payload, options = {}) {
      const kid = options.kid ?? [...keys.keys()][0] ?? '';
      const key = keys.get(kid);
      if (!key) throw new Error(`no key ${kid}`);
      return new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? key.alg, kid, ...(options.typ ? { typ: options.typ } : {}) }).sign(key.privateKey);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    if (!request.url?.endsWith('/keys')) return void response.writeHead(404).end();
    state.fetches += 1;
    if (state.misbehave) return state.misbehave((status, body, headers = {}) => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body));
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [...keys.values()].map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await state.addKey();
  return state;
}

/** Epoch seconds, `offset` seconds from now. */
export const epoch = (offset = 0) => Math.floor(Date.now() / 1000) + offset;
