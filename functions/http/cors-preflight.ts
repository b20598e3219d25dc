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
  // Set by the stack (the console's origin); read here, not through shared/config.ts, which this keyless function does not load.
  const origins = process.env.CONSOLE_ORIGINS;
  if (!origins) return Promise.reject(new Error('CONSOLE_ORIGINS is not set'));
  const allowed = allowedOrigins(origins);
  return Promise.resolve({ statusCode: 204, headers: preflightHeaders(headers.origin, headers['access-control-request-method'], allowed), body: '' });
};
