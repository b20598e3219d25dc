import { withdrawApproval as route } from '../../shared/api/apps.js';
import { withdrawApproval } from '../../shared/domain/approved-users.js';
import { orgRoute } from '../../shared/org-route.js';

/** Withdraws a user's approval (204 whether or not there was one). */
export const handler = orgRoute(route, async ({ caller, path, now }) => {
  await withdrawApproval(caller, path.appId, path.userId, now);
  return { status: 204, body: undefined };
});
