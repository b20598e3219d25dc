import type { Context } from 'aws-lambda';
import { allowedOrigins, preflightHeaders } from '../../shared/cors.js';
import type { HttpEvent, HttpResult } from '../../shared/http.js';

/**
 * `OPTIONS /{proxy+}`, with no authorizer: the browser's preflight carries no token, and with the
 * JWT authorizer on `$default` API Gateway would answer it 401 (AWS: "add an OPTIONS /{proxy+}
 * route … that doesn't require authorization"). With CORS configured API Gateway answers
 * preflights itself and puts its own CORS headers on what this returns; this answers 204 the same
 * way for any OPTIONS that reaches it, so the local server and the stack agree.
 */
export const handler = (event: HttpEvent, _context: Context): Promise<HttpResult> => {
  const headers = event.headers;
  const allowed = allowedOrigins(process.env.CONSOLE_ORIGINS, 'http://127.0.0.1');
  return Promise.resolve({ statusCode: 204, headers: preflightHeaders(headers.origin, headers['access-control-request-method'], allowed), body: '' });
};
