import { introspect } from '../../shared/domain/tokens.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { oauthTokenFormSchema } from '../../shared/schemas/tokens.js';

/** RFC 7662 token introspection. */
export const handler = httpRoute(routes.introspect, async ({ caller, body, now }) => {
  const { token } = parse(oauthTokenFormSchema, body, 'body');
  return json(200, await introspect(caller.orgId, token, now));
});
