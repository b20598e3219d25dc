import { getApp } from '../../shared/api/apps.js';
import { appDetailView, etagOf, getAppDetail } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

export const handler = orgRoute(getApp, async ({ caller, path }) => {
  const app = await getAppDetail(caller.orgId, path.appId);
  return { status: 200, body: appDetailView(app), headers: { ETag: etagOf(app) } };
});
