import { introspect as route } from '../../shared/api/tokens.js';
import { introspect } from '../../shared/domain/introspection.js';
import { orgRoute } from '../../shared/org-route.js';
import { authenticateIntrospectionCaller } from '../../shared/introspection-caller.js';

/**
 * RFC 7662 token introspection, for a bearer JWT or HTTP Basic client credentials (the function
 * verifies either). A caller that registers tokens is the authorization server (refresh-token
 * reuse revokes the grant); a declared resource server sees only the tokens of its audience.
 */
export const handler = orgRoute(route, async ({ caller, body, now }) => ({
  status: 200, body: await introspect(caller.orgId, body.token, now, { asAuthorizationServer: caller.scopes.has('tokens:write'), caller: caller.sub }),
}), { authenticate: authenticateIntrospectionCaller });
