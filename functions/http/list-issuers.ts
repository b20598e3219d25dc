import { listIssuers as route } from '../../shared/api/issuers.js';
import { issuersPage } from '../../shared/domain/issuers.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(route, async ({ caller, query }) => ({ status: 200, body: await issuersPage(caller.orgId, query.limit, query.cursor) }));
