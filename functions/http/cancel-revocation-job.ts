import { cancelRevocationJob } from '../../shared/api/revocations.js';
import { cancelJob, jobView } from '../../shared/domain/jobs.js';
import { orgRoute } from '../../shared/org-route.js';

/** Cancels a scheduled job (200); once it started, 409. */
export const handler = orgRoute(cancelRevocationJob, async ({ caller, path, now }) => ({ status: 200, body: jobView(await cancelJob(caller, path.jobId, now)) }));
