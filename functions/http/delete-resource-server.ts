import { deleteResourceServer as route } from '../../shared/api/resource-servers.js';
import { deleteResourceServer } from '../../shared/domain/resource-servers.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(route, async ({ caller, path, now }) => {
  await deleteResourceServer(caller, path.sub, now);
  return { status: 204, body: undefined };
});
