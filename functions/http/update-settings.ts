import { updateSettings as route } from '../../shared/api/apps.js';
import { appDetailView, etagOf, updateSettings } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** The Settings tab: change any of name, description, contactEmail, callbackUrls, scopes. */
export const handler = orgRoute(route, async ({ caller, path, body, headers, now }) => {
  const app = await updateSettings(caller, path.appId, body, headers['if-match'], now);
  return { status: 200, body: appDetailView(app), headers: { ETag: etagOf(app) } };
});
