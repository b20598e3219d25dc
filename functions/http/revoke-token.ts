import { revokeTokenById } from '../../shared/domain/token-revocation.js';
import { httpRoute, noContent } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { tokenPathSchema } from '../../shared/schemas/tokens.js';

/** Revoke one token: inactive when this returns; a refresh token takes its access tokens along. */
export const handler = httpRoute(routes.revokeToken, async ({ caller, path, now }) => {
  const { appId, userId, tokenId } = parse(tokenPathSchema, path, 'path');
  await revokeTokenById(caller, appId, userId, tokenId, now);
  return noContent();
});
