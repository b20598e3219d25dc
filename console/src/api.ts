import type { components, paths } from '@oauth-usage/api-types';
import type { Problem, ProblemKind } from '@oauth-usage/client';
import { currentSession, signIn } from './auth.js';

/** The API's schemas by name (generated from its OpenAPI document: types only, nothing at run time). */
export type Schemas = components['schemas'];

// The problem types and the shape of a problem answer are the typed client's (one definition for every client of the API).
export type { Problem, ProblemKind };

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | undefined) {
    super(problem?.detail ?? problem?.title ?? `The service answered ${status}`);
  }
  /** The message for a field the API named (`body.name`, or an item of it: `body.callbackUrls.0`), if any. */
  field(path: string): string | undefined {
    return this.problem?.errors?.find((e) => e.path === path || e.path.startsWith(`${path}.`))?.message;
  }
  get kind(): ProblemKind | Unread | undefined {
    return this.problem?.type.split(/[:/]/).pop() as ProblemKind | Unread | undefined;
  }
}

/** The console's own kinds: nothing answered (`network`), or an answer the browser would not let it read (`gateway-refused`). */
type Unread = 'network' | 'gateway-refused';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The paths that have `method`, and the operation there. */
type PathWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends { responses: unknown } ? P : never }[keyof paths];
type Operation<P extends keyof paths, M extends Method> = paths[P][M] & { responses: unknown };
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
/** The body of any success answer of an operation (a 204 has none). */
type Success<O> = O extends { responses: infer R } ? { [S in keyof R]: S extends 200 | 201 | 202 | 204 ? JsonOf<R[S]> : never }[keyof R] : never;
type Parameters<O, In extends 'path' | 'query'> = O extends { parameters: { [K in In]?: infer P } } ? P : never;
type RequestBody<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export interface CallOptions<O> {
  path?: Parameters<O, 'path'>;
  query?: Parameters<O, 'query'>;
  body?: RequestBody<O>;
  headers?: Record<string, string>;
}

let apiUrl = '';
export const setApiUrl = (url: string) => {
  apiUrl = url.replace(/\/$/, '');
};

/**
 * Calls an operation of the API with the session's token, typed by the API's document: the path
 * is the document's (`/v1/apps/{appId}`) with its parameters given apart, and the answer is typed
 * as the operation's success bodies. A 401 (expired or revoked sign-in) sends the admin to sign in
 * again and back to this page (once a minute at most). Errors are thrown as ApiError (an answer it could not read as status 0).
 */
export async function api<M extends Method, P extends PathWith<M>>(
  method: M, path: P, options: CallOptions<Operation<P, M>> = {},
): Promise<{ body: Success<Operation<P, M>>; headers: Headers }> {
  const session = currentSession();
  if (!session) return signIn(location.pathname + location.search);
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => enc(String((options.path as Record<string, string> | undefined)?.[name])))
    + query(options.query ?? {});
  let response: Response;
  try {
    response = await fetch(`${apiUrl}${url}`, {
      method: method.toUpperCase(),
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    if (!(await gatewayAnswers())) throw new ApiError(0, { type: 'network', title: 'Network error', status: 0, detail: 'The service could not be reached. Check your connection and retry.' });
    // The gateway answered but the browser hid it: API Gateway puts CORS headers on its
    // integrations' answers only, so its own 401 (a token it no longer takes) and 429 (throttled)
    // reach the console as a failed fetch. A token at its end is the 401: sign in again.
    if (session.expiresAt - Date.now() < EXPIRING_MS) return signInAgain();
    throw new ApiError(0, {
      type: 'gateway-refused', title: 'Refused by the API gateway', status: 0,
      detail: 'The API gateway refused this call without saying why: too many requests (retry in a few seconds), or a sign-in it does not accept (sign in again).',
    });
  }
  if (response.status === 401) return signInAgain();
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) throw new ApiError(response.status, body as Problem | undefined);
  return { body: body as Success<Operation<P, M>>, headers: response.headers };
}

const SIGNED_IN_AGAIN = 'oauth-usage.signed-in-again';

/**
 * Signs in again after the API refused the session's token (expired, or revoked at the identity
 * provider), and comes back to this page; at most once a minute, so that a token the identity
 * provider keeps issuing and the API keeps refusing (another audience, a claim it lacks) ends in
 * a message, not in a loop of sign-ins.
 */
let signingInAgain: Promise<never> | undefined;
function signInAgain(): Promise<never> {
  // A page's other calls refused at the same moment wait for the same sign-in.
  if (signingInAgain) return signingInAgain;
  if (Date.now() - Number(sessionStorage.getItem(SIGNED_IN_AGAIN) ?? 0) < 60_000) {
    throw new ApiError(401, {
      type: 'unauthorized', title: 'Sign-in not accepted', status: 401,
      detail: 'The service does not accept the sign-in the identity provider gives, even just renewed. Ask an administrator to check the issuer and audience the service trusts.',
    });
  }
  sessionStorage.setItem(SIGNED_IN_AGAIN, String(Date.now()));
  signingInAgain = signIn(location.pathname + location.search);
  return signingInAgain;
}

/** A token with less than this left may be past its end by the gateway's clock. */
const EXPIRING_MS = 60_000;

/**
 * Whether the API's host answers at all: a no-cors request resolves on any answer, even one
 * without CORS headers (its status stays hidden), and fails only when nothing answers.
 */
const gatewayAnswers = () => fetch(`${apiUrl}/health`, { mode: 'no-cors', cache: 'no-store' }).then(() => true, () => false);

/** A query string from the values that are set. */
export const query = (params: Record<string, string | number | boolean | undefined | null>) => {
  const search = new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v === undefined || v === null || v === '' || v === false ? [] : [[k, String(v)]])));
  return search.size ? `?${search.toString()}` : '';
};

export const enc = encodeURIComponent;
