import { approveUser as route } from '../../shared/api/apps.js';
import { approveUser } from '../../shared/domain/approved-users.js';
import { orgRoute } from '../../shared/org-route.js';

/** Approves a user for an app whose policy admits approved users only. */
export const handler = orgRoute(route, async ({ caller, path, now }) => {
  const { created, approval: { userId, approvedAt, approvedBy } } = await approveUser(caller, path.appId, path.userId, now);
  return { status: created ? 201 : 200, body: { userId, approvedAt, approvedBy } };
});
