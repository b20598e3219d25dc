import { revokeRawToken } from '../../shared/domain/token-revocation.js';
import { httpRoute } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';
import { parse } from '../../shared/schemas/common.js';
import { oauthTokenFormSchema } from '../../shared/schemas/tokens.js';

/** RFC 7009 token revocation: 200 with an empty body whether or not the token was known. */
export const handler = httpRoute(routes.revoke, async ({ caller, body, now }) => {
  const { token } = parse(oauthTokenFormSchema, body, 'body');
  await revokeRawToken(caller.orgId, token, now);
  return { statusCode: 200, headers: { 'cache-control': 'no-store' }, body: '' };
});
