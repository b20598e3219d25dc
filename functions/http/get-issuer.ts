import { getIssuer as route } from '../../shared/api/issuers.js';
import { getTrustedIssuer } from '../../shared/domain/issuers.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, path }) => ({ status: 200, body: await getTrustedIssuer(caller.orgId, path.issuerId) }));
