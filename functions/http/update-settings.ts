import { updateSettings as route } from '../../shared/api/apps.js';
import { appDetailView, etagOf, updateSettings } from '../../shared/domain/apps.js';
import { httpRoute } from '../../shared/http.js';

/** The Settings tab: change any of name, description, contactEmail, callbackUrls, scopes. */
export const handler = httpRoute(route, async ({ caller, path, body, headers, now }) => {
  const app = await updateSettings(caller, path.appId, body, headers['if-match'], now);
  return { status: 200, body: appDetailView(app), headers: { ETag: etagOf(app) } };
});
