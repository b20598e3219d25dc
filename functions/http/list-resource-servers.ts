import { listResourceServers as route } from '../../shared/api/resource-servers.js';
import { resourceServersPage } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, query, now }) => ({ status: 200, body: await resourceServersPage(caller.orgId, query.limit, query.cursor, now) }));
