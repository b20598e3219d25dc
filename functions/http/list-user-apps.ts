import { listAppsOfUser } from '../../shared/domain/usage.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { userPathSchema } from '../../shared/schemas/usage.js';
import { listQuerySchema, parse } from '../../shared/schemas/common.js';

/** The apps one user holds active tokens for, with their usage. */
export const handler = httpRoute(routes.listUserApps, async ({ caller, path, query }) => {
  const { userId } = parse(userPathSchema, path, 'path');
  return json(200, await listAppsOfUser(caller.orgId, userId, parse(listQuerySchema, query, 'query')));
});
