import { revoke } from '../../shared/api/tokens.js';
import { revokeRawToken } from '../../shared/domain/token-revocation.js';
import { orgRoute } from '../../shared/org-route.js';

/** RFC 7009 token revocation: 200 with an empty body whether or not the token was known. */
export const handler = orgRoute(revoke, async ({ caller, body, now }) => {
  await revokeRawToken({ orgId: caller.orgId, sub: caller.sub }, body.token, now);
  return { status: 200, body: undefined };
});
