import { replacePolicies as route } from '../../shared/api/apps.js';
import { replacePolicies } from '../../shared/domain/app-policies.js';
import { appDetailView, etagOf } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** The Policies tab, Edit: replace the app's policies (omitted fields take their defaults). */
export const handler = orgRoute(route, async ({ caller, path, body, headers, now }) => {
  const app = await replacePolicies(caller, path.appId, body, headers['if-match'], now);
  return { status: 200, body: appDetailView(app), headers: { ETag: etagOf(app) } };
});
