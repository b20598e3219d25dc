import { listAppsPage } from '../../shared/domain/apps.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { listAppsQuerySchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';

/** OAuth Usage: the org's apps holding active tokens (or all of them), by name. */
export const handler = httpRoute(routes.listApps, async ({ caller, query }) =>
  json(200, await listAppsPage(caller.orgId, parse(listAppsQuerySchema, query, 'query'))),
);
