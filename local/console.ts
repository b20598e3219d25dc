import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { oidcPaths } from './oidc.js';

/**
 * Serves the built console (built by `npm start` into its data directory) beside the API, as CloudFront does deployed: its files,
 * `/config.json`, and `index.html` for any GET that asks for HTML outside the API, so deep links
 * and reloads work. The same security headers as the CloudFront response-headers policy.
 */
export interface ConsoleConfig {
  apiUrl: string;
  issuer: string;
  clientId: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.map': 'application/json',
};

/** Content Security Policy of the console: itself, and calls to the API and the issuer only. */
export const consoleCsp = (connect: string[]) =>
  [`default-src 'self'`, `connect-src 'self' ${connect.join(' ')}`.trim(), `img-src 'self' data:`, `style-src 'self'`, `script-src 'self'`,
    `frame-ancestors 'none'`, `base-uri 'self'`, `form-action 'self' ${connect.join(' ')}`.trim(), `object-src 'none'`].join('; ');

export function createConsoleServer(distDir: string, config: ConsoleConfig) {
  const root = resolve(distDir);
  const headers = {
    'content-security-policy': consoleCsp([...new Set([config.apiUrl, new URL(config.issuer).origin])]),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
  const isApiPath = (path: string) => path.startsWith('/v1/') || path === '/v1' || path.startsWith('/oauth2/') || oidcPaths.has(path) || path.startsWith('/.well-known/') || path === '/health' || path === '/openapi.json';

  /** Answers the request if it is the console's; false otherwise (the API answers). */
  return function handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/config.json') return send(res, 200, 'application/json', JSON.stringify(config), { ...headers, 'cache-control': 'no-store' });
    if (path.startsWith('/assets/')) {
      const file = resolve(root, `.${path}`);
      if (!file.startsWith(`${root}${sep}`) || !existsSync(file)) return send(res, 404, 'text/plain', 'Not found', headers);
      return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file), { ...headers, 'cache-control': 'public, max-age=31536000, immutable' });
    }
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    if (path === '/' || (wantsHtml && !isApiPath(path))) {
      const index = resolve(root, 'index.html');
      if (!existsSync(index)) return send(res, 503, 'text/plain', 'The console is not built: npm start builds it at startup', headers);
      return send(res, 200, TYPES['.html'] as string, readFileSync(index), { ...headers, 'cache-control': 'no-cache' });
    }
    return false;
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string>): true {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(body);
  return true;
}
