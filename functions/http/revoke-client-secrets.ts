import { revokeClientSecrets as route } from '../../shared/api/resource-servers.js';
import { revokeClientSecrets } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

/** Every client secret of a resource server ends now (a leaked secret). */
export const handler = orgRoute(route, async ({ caller, path, now }) => {
  await revokeClientSecrets(caller, path.sub, now);
  return { status: 204, body: undefined };
});
