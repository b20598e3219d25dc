import { introspect as route } from '../../shared/api/tokens.js';
import { introspect } from '../../shared/domain/tokens.js';
import { httpRoute } from '../../shared/http.js';

/** RFC 7662 token introspection. A caller that registers tokens is the authorization server (refresh-token reuse revokes the grant). */
export const handler = httpRoute(route, async ({ caller, body, now }) => ({
  status: 200, body: await introspect(caller.orgId, body.token, now, { asAuthorizationServer: caller.scopes.has('tokens:write') }),
}));
