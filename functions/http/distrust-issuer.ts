import { distrustIssuer as route } from '../../shared/api/issuers.js';
import { distrustIssuer } from '../../shared/domain/issuers.js';
import { orgRoute } from '../../shared/org-route.js';

/** No longer trusts an issuer: its learned tokens are inactive from then on. */
export const handler = orgRoute(route, async ({ caller, path, now }) => {
  await distrustIssuer(caller, path.issuerId, now);
  return { status: 204, body: undefined };
});
