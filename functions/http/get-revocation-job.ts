import { getRevocationJob } from '../../shared/api/revocations.js';
import { getJobOf, jobView } from '../../shared/domain/jobs.js';
import { httpRoute } from '../../shared/http.js';

/** A revocation job's status and progress. */
export const handler = httpRoute(getRevocationJob, async ({ caller, path }) => ({ status: 200, body: jobView(await getJobOf(caller.orgId, path.jobId)) }));
