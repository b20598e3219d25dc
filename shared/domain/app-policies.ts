/**
 * The Policies tab's Edit. Kept apart from the rest of the app's use cases because a changed
 * refresh-token policy starts a pass through the queue: functions that never change policies do
 * not load the queue's client.
 */
import { startPolicyPass } from '../db/policy-pass.js';
import { newStepId } from '../ids.js';
import { logger } from '../logger.js';
import { enqueue } from '../queue.js';
import type { Policies } from '../schemas/policies.js';
import type { Actor } from '../model.js';
import { sameValue } from '../same-value.js';
import { changeApp } from './apps.js';

/**
 * PUT /v1/apps/{appId}/policies (Policies, Edit): replaces them. They apply to existing tokens at
 * once at introspection; a changed refresh-token policy or session timeout also starts a policy
 * pass through the queue, which purges the tokens they now rule out and moves the others in the
 * due index.
 */
export async function replacePolicies(caller: Actor, appId: string, policies: Policies, ifMatch: string | undefined, now: number) {
  let before: Policies | undefined;
  const app = await changeApp(caller, appId, ifMatch, now, (current) => {
    before = current.policies;
    return sameValue(policies, current.policies) ? undefined : { patch: { policies }, event: 'app.policies.updated', details: { from: current.policies, to: policies } };
  });
  const { refreshTokenPolicy: policy, sessionTimeoutMinutes } = policies;
  // A looser policy needs no pass: the sweep finds tokens it looks at too early and moves them.
  const stricterRefresh = before && !sameValue(before.refreshTokenPolicy, policy) && policy.mode !== 'until-revoked';
  const newTimeout = before && before.sessionTimeoutMinutes !== sessionTimeoutMinutes && sessionTimeoutMinutes !== null;
  if (stricterRefresh || newTimeout) {
    // Named first, so the passes of earlier changes stop at their next step.
    const passId = app.version;
    const step = newStepId();
    await startPolicyPass(caller.orgId, appId, passId, step)
      .then(() => enqueue([{ kind: 'policy', orgId: caller.orgId, appId, policy, cursor: null, sessionTimeoutMinutes, passId, step }]))
      .catch((error: unknown) =>
        logger.error('Could not start the policy pass; the policy is enforced at introspection, the sweep purges as tokens come due', { appId, error }));
  }
  return app;
}
