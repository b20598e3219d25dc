import { listUsersOfApp } from '../../shared/domain/usage.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { appPathSchema } from '../../shared/schemas/apps.js';
import { listUsersQuerySchema } from '../../shared/schemas/usage.js';
import { parse } from '../../shared/schemas/common.js';

/** Usage by User: who holds active tokens for the app, first and last use, number of uses. */
export const handler = httpRoute(routes.listAppUsers, async ({ caller, path, query }) => {
  const { appId } = parse(appPathSchema, path, 'path');
  return json(200, await listUsersOfApp(caller.orgId, appId, parse(listUsersQuerySchema, query, 'query')));
});
