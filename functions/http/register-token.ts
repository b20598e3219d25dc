import { registerToken as route } from '../../shared/api/tokens.js';
import { registerTokens } from '../../shared/domain/tokens.js';
import { orgRoute } from '../../shared/org-route.js';

/** One token, or a grant's tokens (`{ tokens: [...] }`) answered in the same shape. */
export const handler = orgRoute(route, async ({ caller, body, now }) => {
  const grant = 'tokens' in body;
  const inputs = grant ? body.tokens : [body];
  const { created, registrations } = await registerTokens(caller.orgId, inputs, (n) => (grant ? `body.tokens.${n}` : 'body'), now);
  return { status: created ? 201 : 200, body: grant ? { tokens: registrations } : registrations[0]! };
});
