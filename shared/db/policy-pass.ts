/**
 * The policy-pass entity: which pass over an app's users is the current one. A policy change
 * starts a pass (through the queue) and names it by the app's version after the change; an older
 * pass that finds a newer one named here stops, so alternating policies (A, B, A) leave one pass
 * walking the users, not one per change.
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { getItem, itemOf, type Key } from './requests.js';
import { keyPart, orgPrefix } from './table.js';
import { commit, putWrite } from './unit-of-work.js';

const policyPassKey = (orgId: string, appId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#POLICY-PASS`, sk: 'POLICY-PASS' });

const toPolicyPass = recordReader('PolicyPass', () => ({ passId: v.number() }), (p) => ({ passId: p.passId as number }));

/** Names `passId` the app's current pass, unless a newer one is named already (a later change got here first). */
export async function startPolicyPass(orgId: string, appId: string, passId: number): Promise<void> {
  await commit([putWrite(itemOf('PolicyPass', policyPassKey(orgId, appId), { orgId, appId, passId }), {
    expression: 'attribute_not_exists(pk) OR passId < :passId', values: { ':passId': passId },
  })]);
}

/** The app's current pass, or undefined if no pass was named yet. */
export async function currentPolicyPass(orgId: string, appId: string): Promise<number | undefined> {
  return toPolicyPass(await getItem(policyPassKey(orgId, appId)))?.passId;
}
