import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { httpApiEvent, lambdaContext } from '../../local/event.js';
import type { HttpEvent, HttpResult } from '../../shared/http.js';
import { routeKey, routes, type Route, type RouteName } from '../../shared/routes.js';
import { testIssuer } from './issuer.js';
import { assertDocumented, responseProblems } from './openapi.js';

export interface Claims {
  sub?: string;
  org_id?: string;
  org_edition?: string;
  scope?: string;
}

export const ALL_SCOPES = 'usage:read apps:manage tokens:write tokens:introspect';

/** Claims of a caller of `org` holding every scope unless told otherwise. */
export const as = (org: string, overrides: Claims = {}): Claims => ({ sub: `admin@${org}`, org_id: org, org_edition: 'Developer', scope: ALL_SCOPES, ...overrides });

export interface CallOptions {
  claims?: Claims;
  path?: Record<string, string>;
  query?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** Raw body, sent as is (with `contentType`). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown> & { items?: Record<string, unknown>[] };
}

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** Each handler this module loaded, so that a test that loads the modules anew (a second container) keeps its own. */
const loaded = new Map<string, Handler>();
const handlerOf = async (name: string): Promise<Handler> => {
  if (!loaded.has(name)) loaded.set(name, ((await import(`../../functions/http/${name}.ts`)) as { handler: Handler }).handler);
  return loaded.get(name) as Handler;
};

/** Loads every route's handler now: a container made by `vi.resetModules` then keeps its own module graph. */
export async function loadAllHandlers(): Promise<void> {
  for (const route of Object.values(routes as Record<string, Route>)) await handlerOf(route.handler);
}

/**
 * Calls a route's real handler with the API Gateway v2 event that route would receive. Every reply
 * is checked against docs/openapi.json: an undocumented status, media type, header or body shape
 * fails the test that received it.
 */
export async function call(name: RouteName, options: CallOptions = {}): Promise<Reply> {
  const route: Route = routes[name];
  const handler = await handlerOf(route.handler);
  let path: string = route.path;
  for (const [k, v] of Object.entries(options.path ?? {})) path = path.replace(`{${k}}`, encodeURIComponent(v));
  const query = new URLSearchParams(options.query ?? {}).toString();
  const body =
    options.raw ?? (options.json !== undefined ? JSON.stringify(options.json) : options.form ? new URLSearchParams(options.form).toString() : undefined);
  const contentType =
    options.contentType ?? (options.json !== undefined ? 'application/json' : options.form ? 'application/x-www-form-urlencoded' : undefined);
  // A route the gateway lets through verifies the caller's JWT itself: it gets a real one, signed by the test issuer.
  const selfVerified = route.authenticate !== undefined && options.claims !== undefined && !('authorization' in (options.headers ?? {}));
  const bearer = selfVerified ? { authorization: `Bearer ${await (await testIssuer()).mint(options.claims as Required<Claims>)}` } : {};
  const event = httpApiEvent({
    method: route.method,
    url: query ? `${path}?${query}` : path,
    headers: { ...(contentType ? { 'content-type': contentType } : {}), ...bearer, ...options.headers },
    ...(body === undefined ? {} : { body }),
    routeKey: routeKey(route),
    pathParameters: options.path ?? {},
    ...(options.claims && route.authenticate === undefined ? { claims: options.claims as Record<string, string> } : {}),
  });
  const result = await handler(event, lambdaContext(route.handler));
  const text = result.body ?? '';
  const reply = {
    status: result.statusCode ?? 200,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)])),
    text,
    body: text && (result.headers?.['content-type'] as string | undefined)?.includes('json') ? (JSON.parse(text) as Reply['body']) : {},
  };
  assertDocumented(responseProblems(name, reply));
  return reply;
}

let counter = 0;
/** A raw token value nobody else in the run uses. */
/** A raw token value no other call makes (random too: two module instances share the process and the millisecond). */
export const rawToken = (label = 'tok') => `${label}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}-${randomBytes(4).toString('hex')}-secretvalue`;

export async function createApp(org: string, appId: string, extra: Record<string, unknown> = {}) {
  const reply = await call('createApp', { claims: as(org), json: { appId, name: `App ${appId}`, ...extra } });
  if (reply.status !== 201) throw new Error(`createApp: ${reply.status} ${reply.text}`);
  return reply.body;
}

export async function register(org: string, body: Record<string, unknown>) {
  return call('registerToken', { claims: as(org), json: body });
}

export async function introspect(org: string, token: string) {
  return call('introspect', { claims: as(org), form: { token } });
}
