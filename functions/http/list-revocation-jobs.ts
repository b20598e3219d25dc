import { listRevocationJobs } from '../../shared/api/revocations.js';
import { listJobsPage } from '../../shared/domain/jobs.js';
import { orgRoute } from '../../shared/org-route.js';

/** Revocation jobs, newest first; `?appId=` and `?status=` narrow the list. */
export const handler = orgRoute(listRevocationJobs, async ({ caller, query }) => ({ status: 200, body: await listJobsPage(caller.orgId, query) }));
