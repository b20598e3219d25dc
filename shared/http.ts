import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as v from 'valibot';
import { isSupportedEdition } from './editions.js';
import {
  AppError, EditionNotSupportedError, InsufficientScopeError, PayloadTooLargeError, UnauthorizedError, ValidationError,
} from './errors.js';
import { logger } from './logger.js';
import { idSchema } from './schemas/common.js';
import type { Route, Scope } from './routes.js';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Caller {
  sub: string;
  orgId: string;
  edition: string;
  scopes: ReadonlySet<string>;
}

export interface HttpRequest {
  event: HttpEvent;
  /** The authorized caller; reading it on a public route is a programming error. */
  readonly caller: Caller;
  /** Request headers, names in lower case. */
  headers: Record<string, string | undefined>;
  /** The parsed body (JSON or form), not yet validated: pass it through a schema (`parse`, shared/schemas/common.ts). */
  body: unknown;
  path: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  /** When the request arrived (ms since the epoch): the request's one "now". */
  now: number;
}

export const MAX_BODY_BYTES = 64 * 1024;
const PROBLEM_BASE = 'urn:oauth-usage:problem:';

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}

export const noContent = (statusCode = 204): HttpResult => ({ statusCode, headers: { 'cache-control': 'no-store' }, body: '' });

/**
 * Who is calling, from the claims API Gateway's JWT authorizer (or the local server) verified.
 * Throws 401 without a usable tenant, 403 for an unsupported edition or a missing scope.
 */
export function authorize(event: HttpEvent, scope: Scope): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  if (!claims) throw new UnauthorizedError();
  const str = (name: string) => {
    const value = claims[name];
    return typeof value === 'string' ? value : undefined;
  };
  const sub = str('sub');
  const orgId = str('org_id');
  if (!sub || !orgId || !v.is(idSchema, orgId)) throw new UnauthorizedError('The token has no valid sub or org_id claim');
  const edition = str('org_edition');
  if (!isSupportedEdition(edition)) throw new EditionNotSupportedError(edition);
  const scopes = new Set((str('scope') ?? '').split(' ').filter(Boolean));
  if (!scopes.has(scope)) throw new InsufficientScopeError(scope);
  return { sub, orgId, edition, scopes };
}

function bodyBytes(event: HttpEvent): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').length : Buffer.byteLength(event.body);
}

/** Maps any error to the route's error format, in one place. Unknown errors become a bare 500. */
export function errorResponse(error: unknown, format: Route['errors']): HttpResult {
  const known = asAppError(error);
  if (!known) logger.error('Unhandled error', error as Error);
  const e = known ?? new AppError(500, 'internal-error', 'Internal server error', 'An unexpected error occurred');
  const headers = { 'cache-control': 'no-store', ...e.headers };
  if (format === 'oauth') {
    return {
      statusCode: e.statusCode,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ error: e.oauthError, error_description: e.message }),
    };
  }
  return {
    statusCode: e.statusCode,
    headers: { ...headers, 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: `${PROBLEM_BASE}${e.type}`, title: e.title, status: e.statusCode, detail: e.message, ...(e.errors ? { errors: e.errors } : {}) }),
  };
}

/** Our errors, plus the body parsers' (middy answers 415 for both a wrong type and bad syntax). */
function asAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  const cause = (error as { cause?: { package?: string } } | undefined)?.cause;
  if (cause?.package === '@middy/http-json-body-parser' || cause?.package === '@middy/http-urlencode-body-parser') {
    const wrongType = (error as Error).message === 'Unsupported Media Type';
    const expected = cause.package === '@middy/http-json-body-parser' ? 'application/json' : 'application/x-www-form-urlencoded';
    return wrongType ? ValidationError.field('headers.content-type', `must be ${expected}`) : ValidationError.field('body', 'is not well-formed');
  }
  return undefined;
}

/** When the request started, in middy's per-request `internal` store (for the access log). */
type RequestState = { startedAt: number };
/** The Lambda context, with the caller the guard authorized (middy passes one context per request). */
interface RouteContext extends Context {
  caller?: Caller;
}
type Middleware = MiddlewareObj<HttpEvent, HttpResult, Error, RouteContext, RequestState>;

function errorsAndAccessLog(format: Route['errors']): Middleware {
  const log = (event: HttpEvent, status: number, state: RequestState) =>
    logger.info('request', {
      route: event.routeKey, status, durationMs: Date.now() - state.startedAt,
      orgId: event.requestContext.authorizer?.jwt?.claims?.org_id, requestId: event.requestContext.requestId,
    });
  return {
    before: (request) => { request.internal.startedAt = Date.now(); },
    after: (request) => { log(request.event, request.response?.statusCode ?? 200, request.internal); },
    onError: (request) => {
      request.response = errorResponse(request.error, format);
      log(request.event, request.response.statusCode ?? 500, request.internal);
    },
  };
}

function guard(route: Pick<Route, 'scope'>): Middleware {
  return {
    before: (request) => {
      // Authorization comes before the body is read: an unauthorized caller learns nothing from it.
      if (route.scope) request.context.caller = authorize(request.event, route.scope);
      if (bodyBytes(request.event) > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    },
  };
}

/**
 * The standard chain for an HTTP route: error mapping and access log, header normalisation,
 * authorization and body limit, body parsing; then the handler with a typed request.
 */
export function httpRoute(route: Pick<Route, 'scope' | 'errors' | 'body'>, handle: (request: HttpRequest) => Promise<HttpResult>) {
  const parsers: Middleware[] =
    route.body === 'json' ? [httpJsonBodyParser()]
    : route.body === 'form' ? [httpUrlencodeBodyParser() as unknown as Middleware] // typed for REST API events only
    : [];
  const chain = middy<HttpEvent, HttpResult, Error, RouteContext, RequestState>()
    .use([errorsAndAccessLog(route.errors), httpHeaderNormalizer() as unknown as Middleware, guard(route), ...parsers])
    .handler((event, context) =>
      handle({
        event,
        get caller() {
          if (!context.caller) throw new Error('No caller: this route is public');
          return context.caller;
        },
        headers: event.headers, // names in lower case (httpHeaderNormalizer)
        body: (event as { body?: unknown }).body,
        path: event.pathParameters ?? {},
        query: event.queryStringParameters ?? {},
        now: Date.now(),
      }),
    );
  // Every line of the request carries its ids and, once known from the token, the org.
  return (event: HttpEvent, context: Context) => logger.within({
    requestId: context.awsRequestId, apiRequestId: event.requestContext.requestId, orgId: event.requestContext.authorizer?.jwt?.claims?.org_id,
  }, () => chain(event, context));
}
