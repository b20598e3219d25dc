import { getPolicies as route } from '../../shared/api/apps.js';
import { getPolicies } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** The app's policies, for the authorization server to apply at issuance. */
export const handler = orgRoute(route, async ({ caller, path }) => ({ status: 200, body: await getPolicies(caller.orgId, path.appId) }));
