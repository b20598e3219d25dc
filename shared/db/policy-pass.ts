/**
 * The policy-pass entity: which pass over an app's users is the current one, and which of its
 * steps is next. A policy change starts a pass (through the queue) and names it by the app's
 * version after the change; an older pass that finds a newer one named here stops, so
 * alternating policies (A, B, A) leave one pass walking the users, not one per change. Each step
 * message carries a random step name; a step runs only while it is the one named here, and the
 * step that moves the name on to its successor is the only one whose successor runs, so a step
 * delivered twice (SQS delivers at least once) does its page twice at most, never forks the pass.
 */
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
}

const toPolicyPass = recordReader('PolicyPass', () => ({ passId: v.number(), step: v.optional(v.string()) }), (p): PolicyPass => ({
  passId: p.passId as number, step: p.step as string | undefined,
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
 * Names `next` the pass's next step, if `from` still is (a step without a name: if the pass names
 * none either). False when another delivery of the step moved it on first, or a newer pass began.
 */
export async function advancePolicyPass(orgId: string, appId: string, passId: number, from: string | undefined, next: string): Promise<boolean> {
  return conditionalUpdate({
    Key: policyPassKey(orgId, appId),
    UpdateExpression: 'SET #step = :next',
    ConditionExpression: `passId = :passId AND ${from === undefined ? 'attribute_not_exists(#step)' : '#step = :from'}`,
    ExpressionAttributeNames: { '#step': 'step' },
    ExpressionAttributeValues: { ':passId': passId, ':next': next, ...(from === undefined ? {} : { ':from': from }) },
  });
}
