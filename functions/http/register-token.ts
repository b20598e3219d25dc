import { registerToken } from '../../shared/domain/tokens.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { registerTokenSchema } from '../../shared/schemas/tokens.js';

export const handler = httpRoute(routes.registerToken, async ({ caller, body, now }) => {
  const { created, registration } = await registerToken(caller.orgId, parse(registerTokenSchema, body, 'body'), now);
  return json(created ? 201 : 200, registration);
});
