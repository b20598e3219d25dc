import { listAppUsers } from '../../shared/api/usage.js';
import { listUsersOfApp } from '../../shared/domain/usage.js';
import { orgRoute } from '../../shared/org-route.js';

/** Usage by User: who holds active tokens for the app, first and last use, number of uses. */
export const handler = orgRoute(listAppUsers, async ({ caller, path, query }) => ({ status: 200, body: await listUsersOfApp(caller.orgId, path.appId, query) }));
