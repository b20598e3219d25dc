/**
 * CORS for the console on another origin than the API (contract section 8), in one place: the
 * stack's `corsPreflight` (API Gateway answers preflights and adds the headers to every answer of
 * an integration) and the local server, which answers the same way for the origins in
 * CONSOLE_ORIGINS (comma-separated; `npm start` defaults it to its own origin, local/settings.ts).
 */
export const cors = {
  allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowHeaders: ['authorization', 'content-type', 'if-match', 'idempotency-key'],
  /** What the console reads of an answer besides the safelisted headers. */
  exposeHeaders: ['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy'],
  maxAgeSeconds: 3600,
} as const;

/** The origins a comma-separated list (CONSOLE_ORIGINS) names, normalised (scheme, host, port). */
export function allowedOrigins(value: string): string[] {
  return value.split(',').map((o) => o.trim()).filter(Boolean).map((o) => new URL(o).origin);
}

/** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`): 204, with the CORS headers only for an allowed origin. */
export function preflightHeaders(origin: string | undefined, requestMethod: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (!origin || !requestMethod || !allowed.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': cors.allowMethods.join(','),
    'access-control-allow-headers': cors.allowHeaders.join(','),
    'access-control-max-age': String(cors.maxAgeSeconds),
    vary: 'origin',
  };
}

/** The headers an answer to a cross-origin call from an allowed origin carries. */
export function responseCorsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (!origin || !allowed.includes(origin)) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': cors.exposeHeaders.join(','), vary: 'origin' };
}
