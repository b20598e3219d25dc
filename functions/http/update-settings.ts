import { appDetailView, etagOf, updateSettings } from '../../shared/domain/apps.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { appPathSchema, updateSettingsSchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';

/** The Settings tab: change any of name, description, contactEmail, callbackUrls, scopes. */
export const handler = httpRoute(routes.updateSettings, async ({ caller, path, body, headers, now }) => {
  const { appId } = parse(appPathSchema, path, 'path');
  const app = await updateSettings(caller, appId, parse(updateSettingsSchema, body, 'body'), headers['if-match'], now);
  return json(200, appDetailView(app), { etag: etagOf(app) });
});
