import { jobView } from '../../shared/domain/jobs.js';
import { requestRevocation } from '../../shared/domain/revocations.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { userTokensPathSchema } from '../../shared/schemas/tokens.js';

/** Usage by User, Revoke: every token of one user for the app, inactive when this returns (202 job). */
export const handler = httpRoute(routes.revokeUserTokens, async ({ caller, path, now }) => {
  const { appId, userId } = parse(userTokensPathSchema, path, 'path');
  const job = await requestRevocation(caller, appId, { userIds: [userId] }, undefined, now);
  return json(202, jobView(job), { location: `/v1/revocation-jobs/${job.jobId}` });
});
