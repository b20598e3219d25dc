import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '../shared/http.js';
import { behindJwtAuthorizer } from '../shared/api/define.js';
import { allowedOrigins, responseCorsHeaders } from '../shared/cors.js';
import { fallbackRoute, matchRoute, preflightRoute, routeKey, routes, type Route } from '../shared/routes.js';
import { LAMBDA_MAX_REQUEST_BYTES, LAMBDA_MAX_RESPONSE_BYTES } from '../shared/lambda-limits.js';
import { httpApiEvent, lambdaContext } from './event.js';
import type { LocalIssuer } from './jwt.js';

type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/**
 * API Gateway's own payload limit (413, no function runs); a smaller body whose event is over
 * Lambda's 6 MB fails at the integration (500); the handlers refuse anything over the contract's
 * 64 KiB themselves (413 problem+json).
 */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

async function loadHandler(name: string): Promise<HttpHandler> {
  const module = (await import(`../functions/http/${name}.ts`)) as { handler: HttpHandler };
  return module.handler;
}

/**
 * The HTTP API as API Gateway runs it: match a route from the route table, check the JWT on
 * routes that have a scope (as the JWT authorizer would), build the payload 2.0 event and call
 * the route's real handler; everything unmatched goes to the $default handler.
 */
export interface LocalExtras {
  /** The console's files and config (`npm start`); the API alone without it. */
  console?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Audit export downloads: the links GET /v1/audit-exports/{id} signs (S3's presigned URLs deployed). */
  downloads?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The local OpenID Connect provider the console signs in with. */
  oidc?: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<boolean>;
}

export async function createLocalApi(issuer: LocalIssuer, extras: LocalExtras = {}): Promise<Server> {
  const handlers = new Map<string, HttpHandler>();
  for (const route of [...Object.values(routes as Record<string, Route>), fallbackRoute, preflightRoute]) {
    handlers.set(route.handler, await loadHandler(route.handler));
  }

  return createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const path = new URL(url, 'http://localhost').pathname;
    // As API Gateway with CORS configured: the console's origins get the CORS headers on its
    // integrations' answers. AWS documents them there only, so the gateway's own answers (401,
    // 413, an integration failure) are sent without them, as the console must expect deployed.
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    // CONSOLE_ORIGINS unset (the API alone, as in tests): no origin is allowed.
    const corsHeaders = responseCorsHeaders(origin, allowedOrigins(process.env.CONSOLE_ORIGINS ?? ''));
    const send = (res: ServerResponse, result: HttpResult) => sendResult(res, { ...result, headers: { ...result.headers, ...corsHeaders } });
    const body = await readBody(req);
    if (body === undefined) return sendResult(res, { statusCode: 413, headers: { 'content-type': 'application/json' }, body: '{"message":"Request Entity Too Large"}' });
    if (method === 'OPTIONS') {
      // OPTIONS /{proxy+}: no authorizer; its function answers the preflight.
      const event = httpApiEvent({ method, url, headers: req.headers, body, routeKey: routeKey({ method: 'OPTIONS', path: '/{proxy+}' }) });
      const preflight = await (handlers.get(preflightRoute.handler) as HttpHandler)(event, lambdaContext(preflightRoute.handler));
      return sendResult(res, preflight);
    }
    if (method === 'GET' && path === '/.well-known/jwks.json') return send(res, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(issuer.jwks) });
    // The local issuer answers a console on another origin as an identity provider does (discovery, token, JWKS with CORS).
    for (const [name, value] of Object.entries(corsHeaders)) res.setHeader(name, value);
    if (await extras.downloads?.(req, res)) return;
    if (extras.console?.(req, res)) return;
    if (await extras.oidc?.(req, res, body)) return;
    for (const name of Object.keys(corsHeaders)) res.removeHeader(name); // the API's answers get them below, from `send`

    const match = matchRoute(method, path);
    const route = 'route' in match ? match.route : undefined;
    let claims;
    // The JWT authorizer guards every route with a scope (but those that verify their callers
    // themselves) and $default (unknown paths and methods).
    if (!route || behindJwtAuthorizer(route)) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      claims = bearer ? await issuer.verify(bearer) : undefined;
      if (!claims) return sendResult(res, gatewayUnauthorized(bearer !== undefined));
    }
    const event = httpApiEvent({
      method,
      url,
      headers: req.headers,
      body,
      routeKey: route ? routeKey(route) : '$default',
      ...('route' in match ? { pathParameters: match.params } : {}),
      ...(claims ? { claims: claims as Record<string, string> } : {}),
    });
    // Lambda refuses an event or a result over its payload limit, and the gateway answers its integration failure.
    if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_MAX_REQUEST_BYTES) return sendResult(res, gatewayIntegrationFailure());
    const name = route?.handler ?? fallbackRoute.handler;
    const handler = handlers.get(name) as HttpHandler;
    const result = await handler(event, lambdaContext(name));
    if (Buffer.byteLength(JSON.stringify(result)) > LAMBDA_MAX_RESPONSE_BYTES) {
      console.error(`${name} returned more than Lambda's ${LAMBDA_MAX_RESPONSE_BYTES} bytes: the gateway answers 500`);
      return sendResult(res, gatewayIntegrationFailure());
    }
    send(res, result);
  }
}

/** What an HTTP API answers when its Lambda integration fails (here: an event or a result over Lambda's payload limit). */
export function gatewayIntegrationFailure(): HttpResult {
  return { statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal Server Error"}' };
}

/** API Gateway's own 401 (no function runs): its body and challenge, not problem+json. */
export function gatewayUnauthorized(tokenGiven: boolean): HttpResult {
  return {
    statusCode: 401,
    headers: { 'content-type': 'application/json', 'www-authenticate': tokenGiven ? 'Bearer error="invalid_token"' : 'Bearer' },
    body: '{"message":"Unauthorized"}',
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolveBody(size > GATEWAY_MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendResult(res: ServerResponse, result: HttpResult): void {
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}
