import { revokeToken } from '../../shared/api/revocations.js';
import { revokeTokenById } from '../../shared/domain/token-revocation.js';
import { orgRoute } from '../../shared/org-route.js';

/** Revoke one token: inactive when this returns; a refresh token takes its access tokens along. */
export const handler = orgRoute(revokeToken, async ({ caller, path: { appId, userId, tokenId }, now }) => {
  await revokeTokenById(caller, appId, userId, tokenId, now);
  return { status: 204, body: undefined };
});
