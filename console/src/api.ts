import { currentSession, signIn } from './auth.js';

/** A problem+json answer of the API (RFC 9457). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | undefined) {
    super(problem?.detail ?? problem?.title ?? `The service answered ${status}`);
  }
  /** The message for a field the API named (`body.name`, or an item of it: `body.callbackUrls.0`), if any. */
  field(path: string): string | undefined {
    return this.problem?.errors?.find((e) => e.path === path || e.path.startsWith(`${path}.`))?.message;
  }
  get kind(): string {
    return this.problem?.type.split(/[:/]/).pop() ?? '';
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

let apiUrl = '';
export const setApiUrl = (url: string) => {
  apiUrl = url.replace(/\/$/, '');
};

/**
 * Calls the API with the session's token. A 401 (expired or revoked sign-in) sends the admin to
 * sign in again and back to this page. Errors are thrown as ApiError (a network failure as status 0).
 */
export async function api<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ body: T; headers: Headers }> {
  const session = currentSession();
  if (!session) return signIn(location.pathname + location.search);
  let response: Response;
  try {
    response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, { type: 'network', title: 'Network error', status: 0, detail: 'The service could not be reached. Check your connection and retry.' });
  }
  if (response.status === 401) return signIn(location.pathname + location.search);
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) throw new ApiError(response.status, body as Problem | undefined);
  return { body: body as T, headers: response.headers };
}

/** A query string from the values that are set. */
export const query = (params: Record<string, string | number | boolean | undefined | null>) => {
  const search = new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v === undefined || v === null || v === '' || v === false ? [] : [[k, String(v)]])));
  return search.size ? `?${search.toString()}` : '';
};

export const enc = encodeURIComponent;
