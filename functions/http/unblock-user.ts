import { unblockUser } from '../../shared/api/users.js';
import { setUserBlocked } from '../../shared/domain/users.js';
import { orgRoute } from '../../shared/org-route.js';

/** Unblock: the user may be issued tokens again (200, idempotent). */
export const handler = orgRoute(unblockUser, async ({ caller, path, body, now }) => ({
  status: 200, body: await setUserBlocked(caller, path.userId, false, body?.reason, now),
}));
