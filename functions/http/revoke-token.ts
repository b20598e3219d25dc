import { revokeToken } from '../../shared/api/revocations.js';
import { revokeTokenById } from '../../shared/domain/token-revocation.js';
import { httpRoute } from '../../shared/http.js';

/** Revoke one token: inactive when this returns; a refresh token takes its access tokens along. */
export const handler = httpRoute(revokeToken, async ({ caller, path: { appId, userId, tokenId }, now }) => {
  await revokeTokenById(caller, appId, userId, tokenId, now);
  return { status: 204, body: undefined };
});
