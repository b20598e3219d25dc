import { getUserUsage } from '../../shared/api/usage.js';
import { userUsage } from '../../shared/domain/usage-history.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(getUserUsage, async ({ caller, path, query, now }) => ({
  status: 200, body: await userUsage(caller.orgId, path.appId, path.userId, query, now),
}));
