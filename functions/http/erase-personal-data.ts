import { erasePersonalData as route } from '../../shared/api/users.js';
import { erasePersonalData } from '../../shared/domain/erasure.js';
import { jobView } from '../../shared/domain/jobs.js';
import { orgRoute } from '../../shared/org-route.js';

/** Erasure: the user's name blanked everywhere, by a 202 job. */
export const handler = orgRoute(route, async ({ caller, path, headers, now }) => {
  const job = await erasePersonalData(caller, path.userId, headers['idempotency-key'], now);
  return { status: 202, body: jobView(job), headers: { Location: `/v1/revocation-jobs/${job.jobId}` } };
});
