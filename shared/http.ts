import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as v from 'valibot';
import { isSupportedEdition } from './editions.js';
import {
  AppError, EditionNotSupportedError, InsufficientScopeError, PayloadTooLargeError, RateLimitedError, UnauthorizedError, ValidationError, type FieldError,
} from './errors.js';
import type { Admission } from './domain/rate-limits.js';
import { runInvocationHooks } from './invocation-hooks.js';
import { logger } from './logger.js';
import { idSchema, parse } from './schemas/common.js';
import { budgetOf, errorFormatOf, type BodyInput, type Caller, type RouteReply, type RouteRequest, type RouteShape } from './api/define.js';
import { problemUri, type Scope } from './registries.js';

/** The scopes of which a route's caller needs one: never none. */
type Scopes = readonly [Scope, ...Scope[]];

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export type { Caller };

type ErrorFormat = ReturnType<typeof errorFormatOf>;

export const MAX_BODY_BYTES = 64 * 1024;

/** A handler's reply as API Gateway takes it: JSON when it has a body, header names in lower case, never cached unless it says so. */
function toResult(reply: { status: number; body?: unknown; headers?: Record<string, string> }): HttpResult {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (reply.body !== undefined) headers['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value;
  return { statusCode: reply.status, headers, body: reply.body === undefined ? '' : JSON.stringify(reply.body) };
}

/**
 * Who is calling, from the claims API Gateway's JWT authorizer (or the local server) verified.
 * Throws 401 without a usable tenant, 403 for an unsupported edition or when the caller holds
 * none of `anyOf`.
 */
export function authorize(event: HttpEvent, anyOf: Scopes): Caller {
  return requireScope(callerOf(event), anyOf);
}

/** 403 unless the caller holds at least one of `anyOf`. */
function requireScope(caller: Caller, anyOf: Scopes): Caller {
  if (!anyOf.some((scope) => caller.scopes.has(scope))) throw new InsufficientScopeError(anyOf);
  return caller;
}

function callerOf(event: HttpEvent): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  if (!claims) throw new UnauthorizedError();
  return callerOfClaims(claims);
}

/** The caller a verified JWT's claims name (401 without a usable tenant, 403 for an unsupported edition). */
export function callerOfClaims(claims: Record<string, unknown>): Caller {
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
  return { sub, orgId, edition, scopes };
}

function bodyBytes(event: HttpEvent): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').length : Buffer.byteLength(event.body);
}

/** Maps any error to the route's error format, in one place. Unknown errors become a bare 500. */
export function errorResponse(error: unknown, format: ErrorFormat): HttpResult {
  const known = asAppError(error);
  if (!known) logger.error('Unhandled error', error as Error);
  const e = known ?? new AppError('internal-error', 'An unexpected error occurred');
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
    body: JSON.stringify({ type: problemUri(e.type), title: e.title, status: e.statusCode, detail: e.message, ...(e.errors ? { errors: e.errors } : {}) }),
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

/** When the request started (for the access log), and the limiter's report to wait for, in middy's per-request `internal` store. */
type RequestState = { startedAt: number; reported?: Promise<void> };
/** The Lambda context, with the caller the guard authorized (middy passes one context per request). */
interface RouteContext extends Context {
  caller?: Caller;
}
type Middleware = MiddlewareObj<HttpEvent, HttpResult, Error, RouteContext, RequestState>;

/**
 * The limiter's report, waited for before the answer (a frozen container would hold it half sent),
 * but never more than REPORT_WAIT_MS: a slow window must not slow the org's calls (it is sent
 * beside the request's own reads, so it has usually long finished).
 */
const REPORT_WAIT_MS = 250;
async function reportedOrLate(reported: Promise<void> | undefined): Promise<void> {
  if (!reported) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([reported, new Promise<void>((resolve) => { timer = setTimeout(resolve, REPORT_WAIT_MS); })]);
  clearTimeout(timer);
}

function errorsAndAccessLog(format: ErrorFormat): Middleware {
  const log = (event: HttpEvent, status: number, state: RequestState) =>
    logger.info('request', {
      // The org comes from the request's log scope: the gateway's claims, or the caller the function authenticated.
      route: event.routeKey, status, durationMs: Date.now() - state.startedAt, requestId: event.requestContext.requestId,
    });
  return {
    before: (request) => { request.internal.startedAt = Date.now(); },
    after: async (request) => {
      await reportedOrLate(request.internal.reported);
      log(request.event, request.response?.statusCode ?? 200, request.internal);
    },
    onError: async (request) => {
      await reportedOrLate(request.internal.reported);
      request.response = errorResponse(request.error, format);
      log(request.event, request.response.statusCode ?? 500, request.internal);
    },
  };
}

/** Verifies the caller of a route the gateway lets through (`authenticate` in its definition); throws what it refuses. */
export type Authenticator = (event: HttpEvent) => Promise<Caller>;

/** The per-org request budgets' decision (shared/domain/rate-limits.ts), given by `orgRoute` to the routes that spend one. */
export type Admit = (orgId: string, budget: NonNullable<ReturnType<typeof budgetOf>>, now: number) => Admission;

function guard(route: RouteShape, authenticate: Authenticator | undefined, admit: Admit | undefined): Middleware {
  if (route.authenticate && !authenticate) throw new Error(`${route.path} verifies its callers itself: give httpRoute its authenticator`);
  const budget = budgetOf(route);
  // Public routes do without the limiter (and the table client it needs); a route that spends a budget is built with it.
  if (budget && !admit) throw new Error(`${route.path} spends the org's ${budget} budget: build its handler with orgRoute (shared/org-route.ts)`);
  return {
    before: async (request) => {
      // Authorization comes before the body is read: an unauthorized caller learns nothing from it.
      if (!route.scopes) return; // public, or the fallback (the gateway verified the token; no scope is needed)
      request.context.caller = authenticate
        ? requireScope(await authenticate(request.event), route.scopes)
        : authorize(request.event, route.scopes);
      // The gateway verified no token for a route that authenticates itself: its org is known from here on.
      if (authenticate) logger.learn({ orgId: request.context.caller.orgId });
      const spent = budgetOf(route, request.context.caller.scopes);
      if (spent && admit) {
        // The org's budget, decided here; its report to the org's window runs beside the request's work, awaited before the answer.
        const admission = admit(request.context.caller.orgId, spent, Date.now());
        request.internal.reported = admission.settled;
        if (!admission.admitted) throw new RateLimitedError(spent, admission.limit, admission.remaining, admission.retryAfterSeconds);
      }
      if (bodyBytes(request.event) > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    },
  };
}

function bodyParser(body: BodyInput | undefined): Middleware[] {
  if (!body) return [];
  const parser = body.media === 'application/json' ? httpJsonBodyParser() : (httpUrlencodeBodyParser() as unknown as Middleware); // typed for REST API events only
  if (!body.optional) return [parser];
  // An optional body may be left out altogether (none, or an empty one: the handler gets
  // `undefined`); one that is sent is parsed like any other, JSON `""` included.
  return [{
    before: async (request) => {
      if (request.event.body) await parser.before?.(request);
      else delete (request.event as { body?: string }).body;
    },
  }];
}

/**
 * The inputs the route defines, each through its schema. Every field at fault is reported at once,
 * named from its input (`path.appId`, `query.limit`, `headers.if-match`, `body.name`).
 */
function parseInputs<R extends RouteShape>(route: R, event: HttpEvent) {
  const { path, query, headers, body } = route.input ?? {};
  const raw = (event as { body?: unknown }).body;
  const errors: FieldError[] = [];
  const checked = (schema: v.GenericSchema | undefined, value: unknown, root: string) => {
    if (!schema) return value;
    try {
      return parse(schema, value, root);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.push(...(error.errors ?? []));
      return undefined;
    }
  };
  const inputs = {
    path: checked(path, event.pathParameters ?? {}, 'path'),
    query: checked(query, event.queryStringParameters ?? {}, 'query'),
    headers: checked(headers, event.headers, 'headers'), // names in lower case (httpHeaderNormalizer)
    body: body && !(body.optional && raw === undefined) ? checked(body.schema, raw, 'body') : undefined,
  };
  if (errors.length > 0) throw new ValidationError(errors);
  return inputs as Pick<RouteRequest<R>, 'path' | 'query' | 'headers' | 'body'>;
}

/**
 * The standard chain for an HTTP route: error mapping and access log, header normalisation,
 * authorization and body limit, body parsing; then the route's inputs through their schemas, and
 * the handler with typed values. It answers one of the route's documented successes.
 */
export function httpRoute<R extends RouteShape>(route: R, handle: (request: RouteRequest<R>) => Promise<RouteReply<R>>, options: { authenticate?: Authenticator; admit?: Admit } = {}) {
  const chain = middy<HttpEvent, HttpResult, Error, RouteContext, RequestState>()
    .use([errorsAndAccessLog(errorFormatOf(route)), httpHeaderNormalizer() as unknown as Middleware, guard(route, options.authenticate, options.admit), ...bodyParser(route.input?.body)])
    .handler(async (event, context) => {
      const reply = await handle({
        ...parseInputs(route, event),
        event,
        get caller() {
          if (!context.caller) throw new Error('No caller: this route is public');
          return context.caller;
        },
        now: Date.now(),
      });
      return toResult(reply);
    });
  // Every line of the request carries its ids and, once known from the token, the org.
  return (event: HttpEvent, context: Context) => logger.within({
    requestId: context.awsRequestId, apiRequestId: event.requestContext.requestId, orgId: event.requestContext.authorizer?.jwt?.claims?.org_id,
  }, async () => {
    await runInvocationHooks();
    return chain(event, context);
  });
}
