import { listApprovedUsers as route } from '../../shared/api/apps.js';
import { approvedUsersPage } from '../../shared/domain/approved-users.js';
import { orgRoute } from '../../shared/org-route.js';

/** The users approved for an app, by userId. */
export const handler = orgRoute(route, async ({ caller, path, query }) => ({
  status: 200, body: await approvedUsersPage(caller.orgId, path.appId, query.limit, query.cursor),
}));
