import { blockApp as route } from '../../shared/api/revocations.js';
import { blockApp } from '../../shared/domain/app-block.js';
import { appDetailView } from '../../shared/domain/apps.js';
import { jobView } from '../../shared/domain/jobs.js';
import { orgRoute } from '../../shared/org-route.js';

/** Block: 202 with the app and the cleanup job; 200 with `job: null` when it was blocked already. */
export const handler = orgRoute(route, async ({ caller, path, body, headers, now }) => {
  const { app, job } = await blockApp(caller, path.appId, body?.reason, headers['idempotency-key'], now);
  if (!job) return { status: 200, body: { app: appDetailView(app), job: null } };
  return { status: 202, body: { app: appDetailView(app), job: jobView(job) }, headers: { Location: `/v1/revocation-jobs/${job.jobId}` } };
});
