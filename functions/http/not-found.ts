import { MethodNotAllowedError, NotFoundError } from '../../shared/errors.js';
import { httpRoute } from '../../shared/http.js';
import { fallbackRoute, matchRoute } from '../../shared/routes.js';

/** API Gateway's $default route: 405 when the path exists under other methods, else 404. */
export const handler = httpRoute(fallbackRoute, ({ event }) => {
  const match = matchRoute(event.requestContext.http.method, event.rawPath);
  if ('allowed' in match && match.allowed.length > 0) throw new MethodNotAllowedError(match.allowed);
  throw new NotFoundError(`Route ${event.requestContext.http.method} ${event.rawPath}`);
});
