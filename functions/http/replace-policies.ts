import { appDetailView, etagOf } from '../../shared/domain/apps.js';
import { replacePolicies } from '../../shared/domain/app-policies.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { appPathSchema, policiesSchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';

/** The Policies tab, Edit: replace the app's policies (omitted fields take their defaults). */
export const handler = httpRoute(routes.replacePolicies, async ({ caller, path, body, headers, now }) => {
  const { appId } = parse(appPathSchema, path, 'path');
  const app = await replacePolicies(caller, appId, parse(policiesSchema, body, 'body'), headers['if-match'], now);
  return json(200, appDetailView(app), { etag: etagOf(app) });
});
