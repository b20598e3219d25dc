/**
 * The policy-pass entity: which pass over an app's users is the current one, and which of its
 * steps is next. A policy change starts a pass (through the queue) and names it by the app's
 * version after the change; an older
 * pass that finds a newer one named here stops, so alternating policies (A, B, A) leave one pass
 * walking the users, not one per change. Each step message carries its step's name; a step runs
 * only while it is the one named here, and names its successor (derived from its own name, with
 * the successor's cursor) before it sends it, so only one of two deliveries of a step goes on,
 * and a successor never arrives before it is named. A step delivered again after its delivery
 * died between naming and sending finds its successor named and sends it again.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { conditionalUpdate, getItem, itemOf, type Key } from './requests.js';
import { keyPart, orgPrefix } from './table.js';
import { commit, putWrite } from './unit-of-work.js';

const policyPassKey = (orgId: string, appId: string): Key => ({ pk: `${orgPrefix(orgId)}#APP#${keyPart(appId)}#POLICY-PASS`, sk: 'POLICY-PASS' });

export interface PolicyPass {
  passId: number;
  /** The step that may run next (absent: an older version named none, so any step of the pass runs). */
  step: string | undefined;
  /** The cursor of the step named next (absent for the first), for sending it again. */
  cursor: Record<string, string> | undefined;
}

const toPolicyPass = /* @__PURE__ */ recordReader('PolicyPass', () => ({ passId: v.number(), step: v.optional(v.string()) }), (p): PolicyPass => ({
  passId: p.passId as number, step: p.step as string | undefined, cursor: p.cursor as Record<string, string> | undefined,
}));

/** Names `passId` the app's current pass with `step` its first step, unless a newer pass is named already (a later change got here first). */
export async function startPolicyPass(orgId: string, appId: string, passId: number, step: string): Promise<void> {
  await commit([putWrite(itemOf('PolicyPass', policyPassKey(orgId, appId), { orgId, appId, passId, step }), {
    expression: 'attribute_not_exists(pk) OR passId < :passId', values: { ':passId': passId },
  })]);
}

/** The app's current pass, or undefined if no pass was named yet. */
export async function currentPolicyPass(orgId: string, appId: string): Promise<PolicyPass | undefined> {
  return toPolicyPass(await getItem(policyPassKey(orgId, appId)));
}

/**
 * Names `next` (at `cursor`) the pass's next step, if `from` still is (a step without a name: if
 * the pass names none either). False when another delivery of the step moved it on first, or a
 * newer pass began.
 */
export async function advancePolicyPass(orgId: string, appId: string, passId: number, from: string | undefined, next: string, cursor: Record<string, string>): Promise<boolean> {
  return conditionalUpdate({
    Key: policyPassKey(orgId, appId),
    UpdateExpression: 'SET #step = :next, #cursor = :cursor',
    ConditionExpression: `passId = :passId AND ${from === undefined ? 'attribute_not_exists(#step)' : '#step = :from'}`,
    ExpressionAttributeNames: { '#step': 'step', '#cursor': 'cursor' },
    ExpressionAttributeValues: { ':passId': passId, ':next': next, ':cursor': cursor, ...(from === undefined ? {} : { ':from': from }) },
  });
}

/** The name of the step after `step`: derived, so every delivery of a step names the same successor. */
export const successorOf = (step: string) => createHash('sha256').update(`policy-step\n${step}`).digest('base64url').slice(0, 22);
