import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localIssuer, type LocalIssuer } from '../../local/jwt.js';

/**
 * An identity provider for a test file, on a loopback port: its discovery document and JWKS, as a
 * function that verifies bearer JWTs itself (POST /oauth2/introspect) finds them. Started on first
 * use; sets JWT_ISSUER and JWT_AUDIENCE as the stack sets them on such a function.
 */
// Kept on globalThis: one issuer per test file even when a test loads the modules anew
// (vi.resetModules, as the key-rotation tests do to run two containers side by side).
const shared = globalThis as { testIssuerStarted?: Promise<LocalIssuer> };

export function testIssuer(): Promise<LocalIssuer> {
  shared.testIssuerStarted ??= (async () => {
    const keys: { jwks?: LocalIssuer['jwks'] } = {};
    const server = createServer((req, res) => {
      const url = req.url ?? '/';
      const body = url === '/.well-known/openid-configuration'
        ? { issuer: process.env.JWT_ISSUER, jwks_uri: `${process.env.JWT_ISSUER}/.well-known/jwks.json` }
        : url === '/.well-known/jwks.json' ? keys.jwks : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, { JWT_ISSUER: url, JWT_AUDIENCE: 'oauth-usage' });
    const issuer = await localIssuer(mkdtempSync(join(tmpdir(), 'test-issuer-')), url, 'oauth-usage');
    keys.jwks = issuer.jwks;
    return issuer;
  })();
  return shared.testIssuerStarted;
}
