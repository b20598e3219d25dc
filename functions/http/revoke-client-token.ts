import { revokeClientToken as route } from '../../shared/api/revocations.js';
import { revokeClientTokenById } from '../../shared/domain/token-revocation.js';
import { orgRoute } from '../../shared/org-route.js';

/** Revoke one of the app's own tokens: inactive when this returns. */
export const handler = orgRoute(route, async ({ caller, path: { appId, tokenId }, now }) => {
  await revokeClientTokenById(caller, appId, tokenId, now);
  return { status: 204, body: undefined };
});
