import { deleteResourceServer as route } from '../../shared/api/resource-servers.js';
import { deleteResourceServer } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, path, now }) => {
  await deleteResourceServer(caller, path.sub, now);
  return { status: 204, body: undefined };
});
