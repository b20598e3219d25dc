import { getAppUsage } from '../../shared/api/usage.js';
import { appUsage } from '../../shared/domain/usage-history.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(getAppUsage, async ({ caller, path, query, now }) => ({
  status: 200, body: await appUsage(caller.orgId, path.appId, query, now),
}));
