import { getRevocationJob } from '../../shared/api/revocations.js';
import { getJobOf, jobView } from '../../shared/domain/jobs.js';
import { orgRoute } from '../../shared/org-route.js';

/** A revocation job's status and progress. */
export const handler = orgRoute(getRevocationJob, async ({ caller, path }) => ({ status: 200, body: jobView(await getJobOf(caller.orgId, path.jobId)) }));
