import { listIssuers as route } from '../../shared/api/issuers.js';
import { issuersPage } from '../../shared/domain/issuers.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, query }) => ({ status: 200, body: await issuersPage(caller.orgId, query.limit, query.cursor) }));
