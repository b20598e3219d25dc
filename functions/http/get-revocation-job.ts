import { getJobOf, jobView } from '../../shared/domain/jobs.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { jobPathSchema } from '../../shared/schemas/revocations.js';

/** A revocation job's status and progress. */
export const handler = httpRoute(routes.getRevocationJob, async ({ caller, path }) => {
  const { jobId } = parse(jobPathSchema, path, 'path');
  return json(200, jobView(await getJobOf(caller.orgId, jobId)));
});
