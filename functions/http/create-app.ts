import { createApp as route } from '../../shared/api/apps.js';
import { appDetailView, createApp, etagOf } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(route, async ({ caller, body, now }) => {
  const app = await createApp(caller, body, now);
  return { status: 201, body: appDetailView(app), headers: { Location: `/v1/apps/${encodeURIComponent(app.appId)}`, ETag: etagOf(app) } };
});
