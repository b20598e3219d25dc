import { registerToken as route } from '../../shared/api/tokens.js';
import { registerToken } from '../../shared/domain/tokens.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(route, async ({ caller, body, now }) => {
  const { created, registration } = await registerToken(caller.orgId, body, now);
  return { status: created ? 201 : 200, body: registration };
});
