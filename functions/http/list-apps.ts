import { listApps } from '../../shared/api/apps.js';
import { listAppsPage } from '../../shared/domain/apps.js';
import { httpRoute } from '../../shared/http.js';

/** OAuth Usage: the org's apps holding active tokens (or all of them), by name. */
export const handler = httpRoute(listApps, async ({ caller, query }) => ({ status: 200, body: await listAppsPage(caller.orgId, query) }));
