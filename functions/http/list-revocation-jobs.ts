import { listRevocationJobs } from '../../shared/api/revocations.js';
import { listJobsPage } from '../../shared/domain/jobs.js';
import { httpRoute } from '../../shared/http.js';

/** Revocation jobs, newest first; `?appId=` and `?status=` narrow the list. */
export const handler = httpRoute(listRevocationJobs, async ({ caller, query }) => ({ status: 200, body: await listJobsPage(caller.orgId, query) }));
