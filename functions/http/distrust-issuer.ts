import { distrustIssuer as route } from '../../shared/api/issuers.js';
import { distrustIssuer } from '../../shared/domain/issuers.js';
import { httpRoute } from '../../shared/http.js';

/** No longer trusts an issuer: its learned tokens are inactive from then on. */
export const handler = httpRoute(route, async ({ caller, path, now }) => {
  await distrustIssuer(caller, path.issuerId, now);
  return { status: 204, body: undefined };
});
