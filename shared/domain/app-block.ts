/**
 * Block an app (the Connected Apps page's Block): every token of the app ends at once and new ones
 * are refused (409 `app-blocked`) until an admin unblocks it (`unblockApp`, apps.ts: an unblock
 * sends nothing to the queue, so its function does not load the queue's client).
 */
import type { Actor, App, AppCounters, RevocationJob } from '../model.js';
import { getAppDetail } from './apps.js';
import { blockAppWithJob } from './revocations.js';

/**
 * POST /v1/apps/{appId}/block: the app is blocked and every token of it revoked in one
 * transaction (see `blockAppWithJob`), inactive when this returns; `job` cleans up. A block of an
 * app blocked already changes nothing (`job: null`).
 */
export async function blockApp(actor: Actor, appId: string, reason: string | undefined, idempotencyKey: string | undefined, now: number): Promise<{ app: App & AppCounters; job: RevocationJob | null }> {
  const job = await blockAppWithJob(actor, appId, reason, { key: idempotencyKey, route: 'blockApp' }, now);
  return { app: await getAppDetail(actor.orgId, appId), job };
}
