import { getIssuer as route } from '../../shared/api/issuers.js';
import { getTrustedIssuer } from '../../shared/domain/issuers.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(route, async ({ caller, path }) => ({ status: 200, body: await getTrustedIssuer(caller.orgId, path.issuerId) }));
