import { listTokensOfUser } from '../../shared/domain/tokens.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { userTokensPathSchema, userTokensQuerySchema } from '../../shared/schemas/tokens.js';

export const handler = httpRoute(routes.listUserTokens, async ({ caller, path, query, now }) => {
  const { appId, userId } = parse(userTokensPathSchema, path, 'path');
  const { limit, cursor } = parse(userTokensQuerySchema, query, 'query');
  return json(200, await listTokensOfUser(caller.orgId, appId, userId, limit, cursor, now));
});
