import { offboardUser as route } from '../../shared/api/users.js';
import { jobView } from '../../shared/domain/jobs.js';
import { offboardUser, previewOffboarding } from '../../shared/domain/offboarding.js';
import { orgRoute } from '../../shared/org-route.js';

/** Offboarding: every token of the user in every app, 202 job; or 200 numbers for a dry run. */
export const handler = orgRoute(route, async ({ caller, path, body, headers, now }) => {
  const { dryRun = false, block = false, reason } = body ?? {};
  if (dryRun) return { status: 200, body: await previewOffboarding(caller.orgId, path.userId) };
  const job = await offboardUser(caller, path.userId, { block, ...(reason === undefined ? {} : { reason }) }, headers['idempotency-key'], now);
  return { status: 202, body: jobView(job), headers: { Location: `/v1/revocation-jobs/${job.jobId}` } };
});
