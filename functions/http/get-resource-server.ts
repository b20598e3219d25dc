import { getResourceServer as route } from '../../shared/api/resource-servers.js';
import { getDeclaredResourceServer, resourceServerView } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, path, now }) => ({ status: 200, body: resourceServerView(await getDeclaredResourceServer(caller.orgId, path.sub), now) }));
