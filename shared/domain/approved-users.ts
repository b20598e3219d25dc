/**
 * Approved users: whom an admin lets be issued tokens for an app whose `permittedUsers` policy is
 * `admin-approved-pre-authorized` (the seed's "Admin approved users are pre-authorized").
 * Approving or withdrawing does nothing to tokens already issued: revoke the user for that.
 */
import { appExists, appStillThereWrite } from '../db/app.js';
import { approveWrite, getApproval, listApprovedUsers, withdrawWrite, type ApprovedUser } from '../db/approved-user.js';
import { recordEvent } from '../db/audit-event.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Actor } from '../model.js';
import { auditEvent } from './audit.js';
import { cursors, listAnswer } from './paging.js';

const changedEvent = (caller: Actor, appId: string, userId: string, approved: boolean, now: number) =>
  recordEvent(auditEvent(caller, 'app.approved-users.changed', { appId, userId, details: { approved } }, now));

/** PUT …/approved-users/{userId}: approved now (created: true), or as it was approved before; audited with the approval. */
export async function approveUser(caller: Actor, appId: string, userId: string, now: number): Promise<{ created: boolean; approval: ApprovedUser }> {
  const { orgId } = caller;
  return retrying(async () => {
    const existing = await getApproval(orgId, appId, userId);
    if (existing) return { created: false, approval: existing };
    const approval: ApprovedUser = { orgId, appId, userId, approvedAt: iso(now), approvedBy: caller.sub };
    if (await commit([appStillThereWrite(orgId, appId), approveWrite(approval), changedEvent(caller, appId, userId, true, now)])) return { created: true, approval };
    if (!(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
    return RETRY; // approved meanwhile: answer that approval
  }, () => new ConflictError('The approval was changed concurrently too often; retry the request'));
}

/** DELETE …/approved-users/{userId}: no longer approved (audited if it was); 404 only for an unknown app. */
export async function withdrawApproval(caller: Actor, appId: string, userId: string, now: number): Promise<void> {
  const { orgId } = caller;
  if (await commit([appStillThereWrite(orgId, appId), withdrawWrite(orgId, appId, userId), changedEvent(caller, appId, userId, false, now)])) return;
  if (!(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
}

/** GET …/approved-users: by user id, one Query a page. */
export async function approvedUsersPage(orgId: string, appId: string, limit: number, cursor: string | undefined) {
  const list = `approved-users\n${appId}`;
  const page = await listApprovedUsers(orgId, appId, limit, cursors.decode(orgId, list, cursor));
  if (page.items.length === 0 && !cursor && !(await appExists(orgId, appId))) throw new NotFoundError(`App ${appId}`);
  return listAnswer(orgId, list, page, ({ userId, approvedAt, approvedBy }) => ({ userId, approvedAt, approvedBy }));
}
