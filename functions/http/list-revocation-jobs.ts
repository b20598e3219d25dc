import { listJobsPage } from '../../shared/domain/jobs.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { listJobsQuerySchema } from '../../shared/schemas/revocations.js';

/** Revocation jobs, newest first; `?appId=` and `?status=` narrow the list. */
export const handler = httpRoute(routes.listRevocationJobs, async ({ caller, query }) =>
  json(200, await listJobsPage(caller.orgId, parse(listJobsQuerySchema, query, 'query'))),
);
