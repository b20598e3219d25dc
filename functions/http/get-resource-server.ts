import { getResourceServer as route } from '../../shared/api/resource-servers.js';
import { getDeclaredResourceServer, resourceServerView } from '../../shared/domain/resource-servers.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(route, async ({ caller, path, now }) => ({ status: 200, body: resourceServerView(await getDeclaredResourceServer(caller.orgId, path.sub), now) }));
