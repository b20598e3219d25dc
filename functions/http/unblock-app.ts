import { unblockApp as route } from '../../shared/api/revocations.js';
import { appDetailView, unblockApp } from '../../shared/domain/apps.js';
import { orgRoute } from '../../shared/org-route.js';

/** Unblock: the app takes new tokens again (200, also when it was not blocked). */
export const handler = orgRoute(route, async ({ caller, path, body, now }) => {
  const app = await unblockApp(caller, path.appId, body?.reason, now);
  return { status: 200, body: { app: appDetailView(app) } };
});
