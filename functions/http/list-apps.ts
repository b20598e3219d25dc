import { listApps } from '../../shared/api/apps.js';
import { listAppsPage } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** OAuth Usage: the org's apps holding active tokens (or all of them), by name. */
export const handler = orgRoute(listApps, async ({ caller, query }) => ({ status: 200, body: await listAppsPage(caller.orgId, query) }));
