import { revokeUserTokens } from '../../shared/api/revocations.js';
import { jobView } from '../../shared/domain/jobs.js';
import { requestRevocation } from '../../shared/domain/revocations.js';
import { orgRoute } from '../../shared/org-route.js';

/** Usage by User, Revoke: every token of one user for the app, inactive when this returns (202 job). */
export const handler = orgRoute(revokeUserTokens, async ({ caller, path: { appId, userId }, headers, now }) => {
  const job = await requestRevocation(caller, appId, { userIds: [userId] }, { key: headers['idempotency-key'], route: 'revokeUserTokens' }, now);
  return { status: 202, body: jobView(job), headers: { Location: `/v1/revocation-jobs/${job.jobId}` } };
});
