import { jobView } from '../../shared/domain/jobs.js';
import { previewRevocation, requestRevocation } from '../../shared/domain/revocations.js';
import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { appPathSchema } from '../../shared/schemas/apps.js';
import { parse } from '../../shared/schemas/common.js';
import { idempotencyKeySchema, revocationRequestSchema } from '../../shared/schemas/revocations.js';

/** Bulk Revoke (`userIds`) or every token of the app (`all`): 202 job, or 200 numbers for a dry run. */
export const handler = httpRoute(routes.requestRevocation, async ({ caller, path, body, headers, now }) => {
  const { appId } = parse(appPathSchema, path, 'path');
  const request = parse(revocationRequestSchema, body, 'body');
  const idempotencyKey = parse(idempotencyKeySchema, headers['idempotency-key'], 'headers.idempotency-key');
  if (request.dryRun) return json(200, await previewRevocation(caller.orgId, appId, request));
  const job = await requestRevocation(caller, appId, request, idempotencyKey, now);
  return json(202, jobView(job), { location: `/v1/revocation-jobs/${job.jobId}` });
});
