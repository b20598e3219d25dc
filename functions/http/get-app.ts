import { appDetailView, etagOf, getAppDetail } from '../../shared/domain/apps.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { appPathSchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';

export const handler = httpRoute(routes.getApp, async ({ caller, path }) => {
  const { appId } = parse(appPathSchema, path, 'path');
  const app = await getAppDetail(caller.orgId, appId);
  return json(200, appDetailView(app), { etag: etagOf(app) });
});
