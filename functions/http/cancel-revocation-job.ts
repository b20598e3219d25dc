import { cancelJob, jobView } from '../../shared/domain/jobs.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { jobPathSchema } from '../../shared/schemas/revocations.js';

/** Cancels a scheduled job (200); once it started, 409. */
export const handler = httpRoute(routes.cancelRevocationJob, async ({ caller, path, now }) => {
  const { jobId } = parse(jobPathSchema, path, 'path');
  return json(200, jobView(await cancelJob(caller, jobId, now)));
});
