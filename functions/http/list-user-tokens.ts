import { listUserTokens } from '../../shared/api/usage.js';
import { listTokensOfUser } from '../../shared/domain/tokens.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(listUserTokens, async ({ caller, path, query, now }) => ({
  status: 200, body: await listTokensOfUser(caller.orgId, path.appId, path.userId, query.limit, query.cursor, now),
}));
