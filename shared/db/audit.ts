import { randomBytes } from 'node:crypto';
import { TableName } from './client.js';
import { batchGetConsistent, itemOf, partitionOf, queryPage, recordOf, sameKey, withoutNulls, type Page } from './items.js';
import { indexKeys, keys } from './keys.js';
import type { AuditEvent } from '../domain/model.js';

/** Event ids sort by time: milliseconds (base 36, fixed width) then randomness. */
export const newEventId = (at: number) => `evt_${at.toString(36).padStart(10, '0')}${randomBytes(6).toString('hex')}`;

/** The Put that records an event, for the transaction that makes the change it describes. */
export function auditPut(event: AuditEvent) {
  const { orgId, eventId, appId, userId } = event;
  return {
    Put: {
      TableName,
      Item: itemOf('AuditEvent', keys.auditEvent(orgId, eventId), withoutNulls(event), {
        ...(appId ? indexKeys.auditByApp(orgId, appId, eventId) : {}),
        ...(userId ? indexKeys.auditByUser(orgId, userId, eventId) : {}),
        ...(appId && userId ? indexKeys.auditByAppAndUser(orgId, appId, userId, eventId) : {}),
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

function toEvent(item: Record<string, unknown> | undefined): AuditEvent | undefined {
  const e = recordOf<Partial<AuditEvent>>(item) as AuditEvent | undefined;
  return e && { ...e, appId: e.appId ?? null, userId: e.userId ?? null, tokenId: e.tokenId ?? null, jobId: e.jobId ?? null, reason: e.reason ?? null, details: e.details ?? {} };
}

/**
 * The org's audit log, newest first: one Query per page. By app (gsi1) or by user (gsi2) the
 * index holds whole events; by both (gsi3, keys only) the page's events come in one BatchGetItem.
 */
export async function listAuditEvents(orgId: string, filter: { appId?: string; userId?: string }, limit: number, startKey?: Record<string, unknown>): Promise<Page<AuditEvent>> {
  const { appId, userId } = filter;
  const spec = { limit, startKey, descending: true };
  if (appId && userId) {
    const page = await queryPage({ ...spec, index: 'gsi3', partition: partitionOf('gsi3', indexKeys.auditByAppAndUser(orgId, appId, userId, '')) });
    const found = page.items.length ? await batchGetConsistent(page.items.map((i) => ({ pk: i.pk as string, sk: i.sk as string }))) : [];
    const events = page.items.map((k) => toEvent(found.find(sameKey({ pk: k.pk as string, sk: k.sk as string })))).filter((e): e is AuditEvent => e !== undefined);
    return { items: events, lastKey: page.lastKey };
  }
  const page = appId
    ? await queryPage({ ...spec, index: 'gsi1', partition: partitionOf('gsi1', indexKeys.auditByApp(orgId, appId, '')) })
    : userId
      ? await queryPage({ ...spec, index: 'gsi2', partition: partitionOf('gsi2', indexKeys.auditByUser(orgId, userId, '')) })
      : await queryPage({ ...spec, partition: keys.auditEvent(orgId, '').pk, prefix: 'EVENT#' });
  return { items: page.items.map((i) => toEvent(i) as AuditEvent), lastKey: page.lastKey };
}
