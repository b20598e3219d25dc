import { appDetailView, createApp, etagOf } from '../../shared/domain/apps.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { createAppSchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';

export const handler = httpRoute(routes.createApp, async ({ caller, body, now }) => {
  const app = await createApp(caller, parse(createAppSchema, body, 'body'), now);
  return json(201, appDetailView(app), { location: `/v1/apps/${encodeURIComponent(app.appId)}`, etag: etagOf(app) });
});
