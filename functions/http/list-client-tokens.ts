import { listClientTokens as route } from '../../shared/api/usage.js';
import { listClientTokens } from '../../shared/domain/tokens.js';
import { orgRoute } from '../../shared/org-route.js';

/** The app's own tokens (client credentials). */
export const handler = orgRoute(route, async ({ caller, path, query, now }) => ({
  status: 200, body: await listClientTokens(caller.orgId, path.appId, query.limit, query.cursor, now),
}));
