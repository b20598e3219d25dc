import { requestRevocation as route } from '../../shared/api/revocations.js';
import { jobView } from '../../shared/domain/jobs.js';
import { previewRevocation, requestRevocation } from '../../shared/domain/revocations.js';
import { orgRoute } from '../../shared/org-route.js';

/** Bulk Revoke (`userIds`) or every token of the app (`all`): 202 job, or 200 numbers for a dry run. */
export const handler = orgRoute(route, async ({ caller, path, body, headers, now }) => {
  if (body.dryRun) return { status: 200, body: await previewRevocation(caller.orgId, path.appId, body) };
  const job = await requestRevocation(caller, path.appId, body, { key: headers['idempotency-key'], route: 'requestRevocation' }, now);
  return { status: 202, body: jobView(job), headers: { Location: `/v1/revocation-jobs/${job.jobId}` } };
});
