import { trustIssuer as route } from '../../shared/api/issuers.js';
import { trustIssuer } from '../../shared/domain/issuers.js';
import { orgRoute } from '../../shared/org-route.js';

/** Trusts (201) or replaces (200) a JWT issuer of the org. */
export const handler = orgRoute(route, async ({ caller, path, body, now }) => {
  const { created, view } = await trustIssuer(caller, path.issuerId, body, now);
  return { status: created ? 201 : 200, body: view };
});
