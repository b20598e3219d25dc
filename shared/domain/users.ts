/**
 * A user across the org's apps: denied new tokens (block), and (offboarding.ts) revoked everywhere.
 */
import { recordEvent } from '../db/audit-event.js';
import { getOrgUser, setBlockedWrite } from '../db/org-user.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Actor } from '../model.js';
import { auditEvent } from './audit.js';

/**
 * POST /v1/users/{userId}/block and …/unblock: registrations for the user are refused (409
 * user-blocked) in every app, or taken again. Pinned to the user's item as read, so it is exact
 * beside a concurrent offboarding; changing nothing writes nothing and audits nothing.
 */
export async function setUserBlocked(actor: Actor, userId: string, blocked: boolean, reason: string | undefined, now: number): Promise<{ userId: string; blocked: boolean }> {
  return retrying(async () => {
    const seen = await getOrgUser(actor.orgId, userId);
    if (seen.blocked === blocked) return { userId, blocked };
    const event = auditEvent(actor, blocked ? 'user.blocked' : 'user.unblocked', { userId, ...(reason ? { reason } : {}) }, now);
    if (!(await commit([setBlockedWrite(seen, blocked, iso(now)), recordEvent(event)]))) return RETRY;
    return { userId, blocked };
  }, () => new ConflictError('The user was changed concurrently too often; retry the request'));
}
