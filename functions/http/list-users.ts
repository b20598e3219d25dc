import { listUsers as route } from '../../shared/api/users.js';
import { listOrgUsers } from '../../shared/domain/users.js';
import { orgRoute } from '../../shared/org-route.js';

/** The org's users holding active tokens; `q` searches ids and names, `blocked` lists the blocked ones. */
export const handler = orgRoute(route, async ({ caller, query }) => ({
  status: 200,
  body: await listOrgUsers(caller.orgId, { limit: query.limit, ...(query.q === undefined ? {} : { q: query.q }), ...(query.blocked === undefined ? {} : { blocked: query.blocked }), ...(query.cursor === undefined ? {} : { cursor: query.cursor }) }),
}));
