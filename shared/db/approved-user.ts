/**
 * The approved-user entity: who an admin approved for an app whose `permittedUsers` policy is
 * `admin-approved-pre-authorized`. One small item per approval in the app's approvals partition,
 * by user id: a page of the list is one Query, and registration reads one in its first round trip
 * (and checks it in its transaction, so a withdrawal that commits first wins).
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { getItem, itemOf, queryPage, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix } from './table.js';
import { checkWrite, deleteWrite, putWrite, type Write } from './unit-of-work.js';

export interface ApprovedUser {
  orgId: string;
  appId: string;
  userId: string;
  approvedAt: string;
  approvedBy: string;
}

export const approvedUserKeys = {
  approval: (orgId: string, appId: string, userId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#APPROVED-USERS`, sk: `USER#${keyPart(userId)}` }),
};

export const toApprovedUser = /* @__PURE__ */ recordReader('ApprovedUser', () => ({
  orgId: v.string(), appId: v.string(), userId: v.string(), approvedAt: v.string(), approvedBy: v.string(),
}), (a) => a as unknown as ApprovedUser);

/** An approval, only if the user is not approved already. */
export const approveWrite = (approval: ApprovedUser): Write =>
  putWrite(itemOf('ApprovedUser', approvedUserKeys.approval(approval.orgId, approval.appId, approval.userId), approval), { expression: 'attribute_not_exists(pk)' });

/** A withdrawal, only if the user is approved. */
export const withdrawWrite = (orgId: string, appId: string, userId: string): Write =>
  deleteWrite(approvedUserKeys.approval(orgId, appId, userId), { expression: 'attribute_exists(pk)' });

/** A registration's check that the user is still approved, in its transaction. */
export const stillApprovedWrite = (orgId: string, appId: string, userId: string): Write =>
  checkWrite(approvedUserKeys.approval(orgId, appId, userId), { expression: 'attribute_exists(pk)' });

/** One page of an app's approved users, by user id: one Query. */
export async function listApprovedUsers(orgId: string, appId: string, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<ApprovedUser>> {
  const page = await queryPage({ partition: approvedUserKeys.approval(orgId, appId, '').pk, limit, startKey });
  return { items: page.items.map((i) => toApprovedUser(i) as ApprovedUser), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}

/** The approval of one user for one app (strongly consistent), or undefined. */
export async function getApproval(orgId: string, appId: string, userId: string): Promise<ApprovedUser | undefined> {
  return toApprovedUser(await getItem(approvedUserKeys.approval(orgId, appId, userId)));
}
