import { blockUser } from '../../shared/api/users.js';
import { setUserBlocked } from '../../shared/domain/users.js';
import { orgRoute } from '../../shared/org-route.js';

/** Block: the user is denied new tokens in every app (200, idempotent). */
export const handler = orgRoute(blockUser, async ({ caller, path, body, now }) => ({
  status: 200, body: await setUserBlocked(caller, path.userId, true, body?.reason, now),
}));
