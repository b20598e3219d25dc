import { listUserApps } from '../../shared/api/usage.js';
import { listAppsOfUser } from '../../shared/domain/usage.js';
import { orgRoute } from '../../shared/org-route.js';

/** The apps one user holds active tokens for, with their usage. */
export const handler = orgRoute(listUserApps, async ({ caller, path, query }) => ({ status: 200, body: await listAppsOfUser(caller.orgId, path.userId, query) }));
