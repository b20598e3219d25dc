/**
 * A typed client of the OAuth Usage API. Every operation of the API's document is typed
 * (paths, parameters, bodies, answers: @oauth-usage/api-types), called through openapi-fetch,
 * with the service's conventions handled once:
 * - the bearer token comes from a function, asked before each call (a client-credentials token
 *   can be refreshed there);
 * - an error answer is thrown as an `OAuthUsageError` carrying its problem+json (RFC 9457), or
 *   the RFC 6749 error of an `/oauth2/*` endpoint;
 * - a 429 or 503 is sent again after its `Retry-After`, or a backoff without one (a few times at most);
 * - an operation that takes an `Idempotency-Key` (the revocations) gets one, the same on every
 *   retry of the call, unless the caller gives its own;
 * - a list's pages are walked by `pages()` / `items()` as async iterators.
 */
import createFetchClient, { type MaybeOptionalInit, type Middleware } from 'openapi-fetch';
import type { HttpMethod, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';
import type { components, paths } from '@oauth-usage/api-types';
import { formOperations, idempotentOperations } from './operations.js';

export type { components, paths };
export type Schemas = components['schemas'];

/** A problem+json answer of the API (RFC 9457); the gateway's `{ message }` and RFC 6749's `{ error }` are read into one. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** The slug of a problem type the API documents (`not-found`, `validation-error`, …). */
export type ProblemKind = Schemas['Problem']['type'] extends `urn:oauth-usage:problem:${infer Kind}` ? Kind : never;
/** What `kind` can be: a problem type's slug, an `/oauth2/*` endpoint's RFC 6749 error code, or `gateway` (API Gateway's own `{ message }`). */
export type ErrorKind = ProblemKind | Schemas['OAuthError']['error'] | 'gateway';

/** An error answer: its status, its problem (the slug of its `type` as `kind`), and `Retry-After` if it gave one. */
export class OAuthUsageError extends Error {
  /** The problem type's slug, the RFC 6749 `error` code of an `/oauth2/*` answer, or `gateway`; undefined for a body of no known shape. */
  readonly kind: ErrorKind | undefined;
  constructor(readonly status: number, readonly problem: Problem | undefined, readonly retryAfterSeconds: number | undefined) {
    super(problem?.detail ?? problem?.title ?? `The service answered ${status}`);
    this.name = 'OAuthUsageError';
    this.kind = problem?.type.split(/[/:]/).pop() as ErrorKind | undefined;
  }
  /** The message the API gave about one field (`body.appId`, or a part of it), if any. */
  field(path: string): string | undefined {
    return this.problem?.errors?.find((e) => e.path === path || e.path.startsWith(`${path}.`))?.message;
  }
}

/** An answer that may go better later (a network failure, a timeout, 429, 5xx), as opposed to a refusal. */
export const isTransient = (error: unknown): boolean => !(error instanceof OAuthUsageError) || error.status >= 500 || error.status === 429;

export interface ClientOptions {
  /** The API's base URL, e.g. `https://abc.execute-api.us-east-1.amazonaws.com` or `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** The bearer token for each call: a string, or a function asked before every call (so it can refresh). */
  token: string | (() => string | Promise<string>);
  /** Times a 429 or 503 is sent again, after its Retry-After or a backoff (default 3); 0 throws it at once. */
  retries?: number;
  /** The longest Retry-After waited for, in seconds (default 30); a longer one is thrown. */
  maxRetryAfterSeconds?: number;
  /** A fetch to use instead of the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `Retry-After` in seconds (RFC 9110: a number of seconds or an HTTP date), if the answer gave one. */
export function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/** An error answer's body as a problem: problem+json as it is, the gateway's `{ message }` and RFC 6749's `{ error, error_description }` read into one. */
function problemOf(status: number, body: unknown): Problem | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.type === 'string') return b as unknown as Problem;
  if (typeof b.error === 'string') return { type: b.error, title: b.error, status, ...(typeof b.error_description === 'string' ? { detail: b.error_description } : {}) };
  if (typeof b.message === 'string') return { type: 'gateway', title: b.message, status };
  return undefined;
}

type Method = Extract<HttpMethod, 'get' | 'post' | 'put' | 'patch' | 'delete'>;
/** openapi-fetch's rule for the second argument: required only when the operation has required parameters or a body. */
type InitParam<Init> = RequiredKeysOf<Init> extends never ? [(Init & { [key: string]: unknown })?] : [Init & { [key: string]: unknown }];
/** The success body of an operation, read from its documented 2xx answers (undefined for a 204). */
export type Answer<P extends keyof paths, M extends Method> = paths[P][M] extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 | 202 | 204 ? (R[S] extends { content: { 'application/json': infer B } } ? B : undefined) : never }[keyof R]
  : never;
type Call<M extends Method> = <P extends PathsWithMethod<paths, M>, Init extends MaybeOptionalInit<paths[P], M>>(url: P, ...init: InitParam<Init>) => Promise<Answer<P, M>>;

/** The GET paths that answer a page (`{ items, nextCursor }`). */
export type ListPath = { [P in PathsWithMethod<paths, 'get'>]: Answer<P, 'get'> extends { items: unknown[]; nextCursor?: string | null } ? P : never }[PathsWithMethod<paths, 'get'>];
type Page<P extends ListPath> = Extract<Answer<P, 'get'>, { items: unknown[] }>;
type Item<P extends ListPath> = Page<P> extends { items: (infer I)[] } ? I : never;

/**
 * The client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` typed as openapi-fetch types them, each
 * answering the success body or throwing an `OAuthUsageError`; `pages` / `items` for lists.
 */
export function createClient(options: ClientOptions) {
  const retries = options.retries ?? 3;
  const maxWait = options.maxRetryAfterSeconds ?? 30;
  const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const token = typeof options.token === 'function' ? options.token : ((value: string) => () => value)(options.token);

  const conventions: Middleware = {
    async onRequest({ request, schemaPath }) {
      request.headers.set('authorization', `Bearer ${await token()}`);
      if (idempotentOperations.has(`${request.method} ${schemaPath}`) && !request.headers.has('idempotency-key')) {
        request.headers.set('idempotency-key', crypto.randomUUID());
      }
      return request;
    },
  };
  // A 429 or 503 (not processed) is sent again: the same request, so the same Idempotency-Key. It waits its Retry-After,
  // or backs off with jitter when there is none (API Gateway's own throttling sends none).
  const fetchRetrying = async (request: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt += 1) {
      const response = await baseFetch(request.clone());
      if ((response.status !== 429 && response.status !== 503) || attempt >= retries) return response;
      const wait = retryAfterOf(response) ?? Math.min(maxWait, 0.5 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (wait > maxWait) return response;
      await response.body?.cancel();
      await sleep(wait * 1000);
    }
  };
  const client = createFetchClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: fetchRetrying });
  client.use(conventions);

  const send = <M extends Method>(method: M): Call<M> => (async (url: string, init: { headers?: ConstructorParameters<typeof Headers>[0] } = {}) => {
    const upper = method.toUpperCase() as Uppercase<M>;
    const headers = new Headers(init.headers);
    if (formOperations.has(`${upper} ${url}`) && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    const call = client[upper] as (url: string, init: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
    const { data, error, response } = await call(url, { ...init, headers: Object.fromEntries(headers) });
    if (!response.ok) throw new OAuthUsageError(response.status, problemOf(response.status, error), retryAfterOf(response));
    return data;
  }) as unknown as Call<M>;
  const GET = send('get');

  /** Each page of a list, following `nextCursor` until the last. */
  async function* pages<P extends ListPath, Init extends MaybeOptionalInit<paths[P], 'get'>>(url: P, ...init: InitParam<Init>): AsyncGenerator<Page<P>> {
    const first = (init[0] ?? {}) as { params?: { query?: Record<string, unknown> } };
    let cursor: string | null | undefined;
    const seen = new Set<string>();
    do {
      const query = { ...first.params?.query, ...(cursor ? { cursor } : {}) };
      const page = (await (GET as (url: string, init: object) => Promise<unknown>)(url, { ...first, params: { ...first.params, query } })) as Page<P>;
      yield page;
      cursor = (page as { nextCursor?: string | null }).nextCursor;
      // A cursor that comes back would walk the same pages for ever.
      if (cursor && seen.has(cursor)) throw new Error(`${url}: the service answered a cursor it had answered before`);
      if (cursor) seen.add(cursor);
    } while (cursor);
  }

  /** Each item of a list, across its pages. */
  async function* items<P extends ListPath, Init extends MaybeOptionalInit<paths[P], 'get'>>(url: P, ...init: InitParam<Init>): AsyncGenerator<Item<P>> {
    for await (const page of pages<P, Init>(url, ...init)) yield* (page as { items: Item<P>[] }).items;
  }

  return {
    GET,
    POST: send('post'),
    PUT: send('put'),
    PATCH: send('patch'),
    DELETE: send('delete'),
    pages,
    items,
    /** The underlying openapi-fetch client (the same token, keys and retries; answers returned, not thrown), for what the wrapper does not cover. */
    raw: client,
  };
}

export type OAuthUsageClient = ReturnType<typeof createClient>;
