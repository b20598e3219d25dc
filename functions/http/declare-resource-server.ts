import { declareResourceServer as route } from '../../shared/api/resource-servers.js';
import { declareResourceServer, resourceServerView } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

/** Declares (201) or replaces (200) a resource server and its audience. */
export const handler = orgRoute(route, async ({ caller, path, body, now }) => {
  const { created, server } = await declareResourceServer(caller, path.sub, body, now);
  return { status: created ? 201 : 200, body: resourceServerView(server, now) };
});
