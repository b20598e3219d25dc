import { trustIssuer as route } from '../../shared/api/issuers.js';
import { trustIssuer } from '../../shared/domain/issuers.js';
import { httpRoute } from '../../shared/http.js';

/** Trusts (201) or replaces (200) a JWT issuer of the org. */
export const handler = httpRoute(route, async ({ caller, path, body, now }) => {
  const { created, view } = await trustIssuer(caller, path.issuerId, body, now);
  return { status: created ? 201 : 200, body: view };
});
