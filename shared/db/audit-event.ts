/**
 * The audit-event entity: the org's audit log, newest last in key order (event ids sort by time),
 * also listed by app (gsi1), by user (gsi2) and by both (gsi3, keys only). Written only in the
 * transaction that makes the change it records; never changed or deleted.
 */
import * as v from 'valibot';
import type { AuditEvent } from '../model.js';
import { recordReader } from './checked.js';
import { batchGetConsistent, itemOf, keyOf, partitionOf, queryPage, sameKey, withoutNulls, type Item, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix, table } from './table.js';
import { putWrite, type Write } from './unit-of-work.js';

const { gsi1, gsi2, gsi3 } = table.indexes;

export const auditKeys = {
  event: (orgId: string, eventId: string): Key => ({ pk: `${orgPrefix(orgId)}#AUDIT`, sk: `EVENT#${eventId}` }),
  byApp: (orgId: string, appId: string, eventId: string) => ({ [gsi1.partitionKey]: `${orgPrefix(orgId)}#AUDIT#APP#${keyPart(appId)}`, [gsi1.sortKey]: `EVENT#${eventId}` }),
  byUser: (orgId: string, userId: string, eventId: string) => ({ [gsi2.partitionKey]: `${orgPrefix(orgId)}#AUDIT#USER#${keyPart(userId)}`, [gsi2.sortKey]: `EVENT#${eventId}` }),
  byAppAndUser: (orgId: string, appId: string, userId: string, eventId: string) => ({
    [gsi3.partitionKey]: `${orgPrefix(orgId)}#AUDIT#APP#${keyPart(appId)}#USER#${keyPart(userId)}`, [gsi3.sortKey]: `EVENT#${eventId}`,
  }),
};

/** The write that records an event, for the transaction that makes the change it describes. */
export function recordEvent(event: AuditEvent): Write {
  const { orgId, eventId, appId, userId } = event;
  return putWrite(itemOf('AuditEvent', auditKeys.event(orgId, eventId), withoutNulls(event), {
    ...(appId ? auditKeys.byApp(orgId, appId, eventId) : {}),
    ...(userId ? auditKeys.byUser(orgId, userId, eventId) : {}),
    ...(appId && userId ? auditKeys.byAppAndUser(orgId, appId, userId, eventId) : {}),
  }), { expression: 'attribute_not_exists(pk)' });
}

const toEvent = /* @__PURE__ */ recordReader('AuditEvent', () => ({ orgId: v.string(), eventId: v.string(), at: v.string(), action: v.string() }), (e) => {
  const v = e as Partial<AuditEvent>;
  return { ...(e as unknown as AuditEvent), appId: v.appId ?? null, userId: v.userId ?? null, tokenId: v.tokenId ?? null, jobId: v.jobId ?? null, reason: v.reason ?? null, details: v.details ?? {} };
});

/**
 * The org's audit log, newest first: one Query per page. By app (gsi1) or by user (gsi2) the
 * index holds whole events; by both (gsi3, keys only) the page's events come in one BatchGetItem.
 */
export async function listAuditEvents(orgId: string, filter: { appId?: string; userId?: string }, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<AuditEvent>> {
  const { appId, userId } = filter;
  const spec = { limit, startKey, descending: true };
  if (appId && userId) {
    const page = await queryPage({ ...spec, index: 'gsi3', partition: partitionOf('gsi3', auditKeys.byAppAndUser(orgId, appId, userId, '')) });
    const found = page.items.length ? await batchGetConsistent(page.items.map(keyOf)) : [];
    const kept = page.items.map((k, i) => ({ event: toEvent(found.find(sameKey(keyOf(k)))), resumeKey: page.resumeKeys[i] as Item })).filter(({ event }) => event !== undefined);
    return { items: kept.map(({ event }) => event as AuditEvent), lastKey: page.lastKey, resumeKeys: kept.map(({ resumeKey }) => resumeKey) };
  }
  const page = appId
    ? await queryPage({ ...spec, index: 'gsi1', partition: partitionOf('gsi1', auditKeys.byApp(orgId, appId, '')) })
    : userId
      ? await queryPage({ ...spec, index: 'gsi2', partition: partitionOf('gsi2', auditKeys.byUser(orgId, userId, '')) })
      : await queryPage({ ...spec, partition: auditKeys.event(orgId, '').pk, prefix: 'EVENT#' });
  return { items: page.items.map((i) => toEvent(i) as AuditEvent), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}
