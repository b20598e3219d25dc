/**
 * How a route is defined, once: method, path, who may call it, what its function may touch, its
 * inputs (valibot schemas that `httpRoute` parses before the handler runs) and its answers
 * (status → schema, headers, example), with the words the API document shows. The route table
 * (shared/routes.ts), the CDK stack, the local server and `npm run openapi` all read these.
 *
 * A definition is a plain literal, `{ … } as const satisfies RouteDefinition`, holding only
 * literals, names of schemas and examples, and functions: nothing the bundler must assume has side
 * effects (a call, a spread, a property read), so a function's bundle drops every definition of
 * its module but its own (a test checks it).
 */
import type * as v from 'valibot';
import type { ProblemType, RequestBudget, Scope } from '../registries.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/**
 * What the function does to the table: nothing, reads, reads and records uses (UpdateItem only:
 * introspection), or reads and writes. Functions with table access also read the service secret.
 */
export type TableAccess = 'none' | 'RO' | 'RO+UpdateItem' | 'RW';

/**
 * Credentials a route's function verifies itself (API Gateway's JWT authorizer lets the route
 * through): a bearer JWT, checked as the authorizer checks it, or a declared resource server's
 * HTTP Basic client secret. The handler passes the verifier to `httpRoute`; a definition names it
 * only, so that the route table loads none of it.
 */
export type Authentication = 'bearer-jwt-or-client-secret-basic';

/** The reasons the contract gives for a route that needs no token. */
export type PublicReason =
  | 'liveness' // GET /health
  | 'api-document' // GET /openapi.json
  | 'cors-preflight' // a browser's OPTIONS before a call with a token (contract section 8)
  | 'signed-download'; // a URL whose signature is its authorization (contract section 5)

/** Groups of operations in the API document and docs/api.md, in the order they list them. */
export const tags = {
  service: { title: 'Service', description: 'Health and this document.' },
  tokens: { title: 'Tokens: the authorization server and resource servers', description: 'For the authorization server and resource servers: register, introspect, revoke.' },
  apps: { title: 'Apps: create, Settings, Policies', description: 'External client apps: create, detail, Settings and Policies.' },
  usage: { title: 'OAuth Usage, Usage by User, a user\'s tokens', description: 'OAuth Usage: apps holding active tokens, Usage by User, a user\'s tokens.' },
  users: { title: 'Users in every app: find, offboard, block, erase', description: 'A user across the org\'s apps: find them (by id or name), revoke everywhere (offboarding), deny new tokens (block), erase their personal data.' },
  revocation: { title: 'Revocation and its jobs', description: 'Revoke one token, a user\'s tokens, selected users or a whole app; track and cancel jobs.' },
  resourceServers: { title: 'Resource servers', description: 'The resource servers an org declares: the audience each serves, and client secrets for HTTP Basic at /oauth2/introspect.' },
  issuers: { title: 'Trusted issuers', description: 'The JWT issuers an org trusts: their access tokens are learned when resource servers introspect them, with no integration at the authorization server.' },
  audit: { title: 'Audit log', description: 'The audit log.' },
} as const;
export type Tag = keyof typeof tags;

/** Response headers an answer may carry (documented once, in the document's components). */
export const responseHeaders = {
  Location: 'Where the created resource is.',
  ETag: 'The app\'s version, for `If-Match`.',
  'Retry-After': 'Seconds to wait before trying again.',
  'RateLimit-Policy': 'The org\'s budget this call spends (IETF httpapi RateLimit header fields): `"<budget>";q=<requests a second>;w=1`, the budget one of `introspect`, `register`, `admin`.',
  RateLimit: 'What is left of that budget, as the container that answered knows it: `"<budget>";r=<requests left>;t=<seconds until it may be tried again>`.',
} as const;
export type ResponseHeader = keyof typeof responseHeaders;

type Schema = v.GenericSchema;

/** A success answer: its body's schema (none: an empty body), the headers it always carries, an example. */
export interface SuccessAnswer {
  description: string;
  schema?: Schema;
  headers?: readonly ResponseHeader[];
  /** For the API document; must satisfy the schema (a test checks). A function is called for it (a variant of a shared example). */
  example?: unknown;
  /** Several named examples instead of one. */
  examples?: Record<string, { summary: string; value: unknown }>;
}

/** An error answer particular to the route: the problem types it may carry, each with an example detail. */
export interface ProblemAnswer {
  description: string;
  problems: readonly { type: ProblemType; detail: string }[];
  headers?: readonly ResponseHeader[];
}

export interface BodyInput {
  schema: Schema;
  media: 'application/json' | 'application/x-www-form-urlencoded';
  /** The body may be left out altogether (no body, no content type): the handler gets `undefined`. */
  optional?: true;
  /** As an answer's example: a value, or a function that returns it; or several named ones. */
  example?: unknown;
  examples?: Record<string, { summary: string; value: unknown }>;
}

/**
 * Who may call a route, exactly one of: a caller holding at least one of `scopes` (its JWT verified
 * by API Gateway's authorizer, or by the function itself (`authenticate`) for credentials the authorizer cannot check),
 * or anyone, for one of the contract's reasons.
 */
export type RouteAccess =
  | {
    scopes: readonly [Scope, ...Scope[]]; authenticate?: Authentication; public?: never;
    /**
     * The org's request budget it spends (contract section 10): `admin` unless it says; a
     * revocation is `unlimited`; or one for the org's authorization server (a `tokens:write`
     * caller, which introspects refresh tokens and reads policies to sign users in) and one for the rest.
     */
    budget?: RouteBudget;
  }
  | { public: PublicReason; scopes?: never; authenticate?: never; budget?: never };

interface RouteFields {
  method: HttpMethod;
  /** API Gateway path syntax: `{name}` is one path segment. */
  path: string;
  /** The file under functions/http/ that exports `handler`. */
  handler: string;
  table: TableAccess;
  /** Sends to the revocation queue. */
  enqueues?: true;
  /** Reads the audit exports' files (to sign their downloads). */
  exportFiles?: 'read';
  input?: {
    path?: Schema;
    query?: Schema;
    /** Header names in lower case; an object schema that lets other headers through. */
    headers?: Schema;
    body?: BodyInput;
  };
  /**
   * Success answers, and error answers this route gives beyond the standard ones, which follow
   * from its scopes, inputs and table access (400, 401, 403, 413, 429, 500; 412 with an `if-match`
   * header, 422 with an `idempotency-key` header).
   */
  answers: Record<number, SuccessAnswer | ProblemAnswer>;
  tag: Tag;
  summary: string;
  /** More than the summary says (the document shows both; do not repeat the summary). */
  description?: string;
}

/**
 * A route. `authenticate` (with `scopes`) is for a route that verifies its callers itself, for
 * credentials API Gateway's JWT authorizer cannot check (HTTP Basic client credentials, RFC 6749
 * §2.3.1): the gateway lets every request through to the function, which must refuse (throw)
 * what it does not accept.
 */
export type RouteDefinition = RouteFields & RouteAccess;

/** `/oauth2/*` answers errors as RFC 6749 JSON; everything else as problem+json. */
export const errorFormatOf = (route: Pick<RouteDefinition, 'path'>): 'oauth' | 'problem' => (route.path.startsWith('/oauth2/') ? 'oauth' : 'problem');

export const isProblemAnswer = (answer: SuccessAnswer | ProblemAnswer): answer is ProblemAnswer => 'problems' in answer;

// ---- What a handler receives and returns, inferred from its definition ----

/** What `httpRoute` reads of a route: its definition, or the fallback's few fields. */
export type RouteBudget = RequestBudget | 'unlimited' | { authorizationServer: RequestBudget; others: RequestBudget };
export type RouteShape = Pick<RouteFields, 'path' | 'input' | 'answers'> & { scopes?: readonly [Scope, ...Scope[]]; authenticate?: Authentication; budget?: RouteBudget };

/**
 * The budget a call spends: none for a public route or the fallback, nor for a revocation; `admin`
 * for a guarded route that names none. Without the caller's scopes: whether the route spends one at all (the others').
 */
export function budgetOf(route: Pick<RouteShape, 'scopes' | 'budget'>, callerScopes?: ReadonlySet<string>): RequestBudget | undefined {
  if (route.scopes === undefined || route.budget === 'unlimited') return undefined;
  const { budget = 'admin' } = route;
  if (typeof budget === 'string') return budget;
  return callerScopes?.has('tokens:write') ? budget.authorizationServer : budget.others;
}

/** Every budget a route's calls may spend, whoever calls. */
export const budgetsOf = (route: Pick<RouteShape, 'scopes' | 'budget'>): RequestBudget[] =>
  route.budget !== undefined && typeof route.budget === 'object' && route.scopes !== undefined
    ? [...new Set([route.budget.authorizationServer, route.budget.others])] : [budgetOf(route)].filter((b): b is RequestBudget => b !== undefined);

/** Whether API Gateway's JWT authorizer guards the route (locally: the server checks the JWT the same way). */
export const behindJwtAuthorizer = (route: { scopes?: readonly Scope[]; authenticate?: unknown }) => route.scopes !== undefined && !route.authenticate;

type InputOf<R extends RouteShape, K extends 'path' | 'query' | 'headers'> =
  NonNullable<R['input']>[K] extends infer S extends Schema ? v.InferOutput<S> : Record<string, string | undefined>;

export type BodyOf<R extends RouteShape> =
  NonNullable<R['input']>['body'] extends infer B extends BodyInput
    ? v.InferOutput<B['schema']> | (B['optional'] extends true ? undefined : never)
    : undefined;

export interface Caller {
  sub: string;
  orgId: string;
  edition: string;
  scopes: ReadonlySet<string>;
}

export interface RouteRequest<R extends RouteShape> {
  /** The authorized caller; reading it on a public route is a programming error. */
  readonly caller: Caller;
  path: InputOf<R, 'path'>;
  query: InputOf<R, 'query'>;
  headers: InputOf<R, 'headers'>;
  body: BodyOf<R>;
  /** When the request arrived (ms since the epoch): the request's one "now". */
  now: number;
  /** The raw API Gateway event, for what no schema describes (the method and path of a fallback). */
  event: { rawPath: string; requestContext: { http: { method: string } } };
}

type SuccessStatus<R extends RouteShape> = { [S in keyof R['answers']]: R['answers'][S] extends ProblemAnswer ? never : S }[keyof R['answers']] & number;
type AnswerOf<R extends RouteShape, S extends SuccessStatus<R>> = R['answers'][S] & SuccessAnswer;
type HeadersOf<A extends SuccessAnswer> = A['headers'] extends readonly ResponseHeader[] ? { [H in A['headers'][number]]: string } : unknown;

/** A handler's answer: a documented success status, a body of its schema, and its documented headers. */
export type RouteReply<R extends RouteShape> = {
  [S in SuccessStatus<R>]: {
    status: S;
    body: AnswerOf<R, S>['schema'] extends infer B extends Schema ? v.InferOutput<B> : undefined;
    /** Extra headers beyond the documented ones (e.g. `cache-control`) are allowed. */
    headers?: HeadersOf<AnswerOf<R, S>> & Record<string, string>;
  } & (AnswerOf<R, S>['headers'] extends readonly [ResponseHeader, ...ResponseHeader[]] ? { headers: HeadersOf<AnswerOf<R, S>> & Record<string, string> } : unknown)
}[SuccessStatus<R>];
