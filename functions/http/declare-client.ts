import { declareClient as route } from '../../shared/api/apps.js';
import { appDetailView, declareClient, etagOf } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** The authorization server declares one of its clients: created (201) or brought in step (200). */
export const handler = orgRoute(route, async ({ caller, path, body, now }) => {
  const { created, app } = await declareClient(caller, path.appId, body, now);
  const headers = { ETag: etagOf(app) };
  return created
    ? { status: 201, body: appDetailView(app), headers: { ...headers, Location: `/v1/apps/${encodeURIComponent(app.appId)}` } }
    : { status: 200, body: appDetailView(app), headers };
});
