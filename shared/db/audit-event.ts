/**
 * The audit-event entity: the org's audit log, newest last in key order (event ids sort by time),
 * also listed by app (gsi1), by user (gsi2), by both (gsi3, keys only), by actor (gsi4, keys only)
 * and by action (gsi6). Written only in the
 * transaction that makes the change it records; never changed or deleted.
 */
import * as v from 'valibot';
import type { AuditEvent } from '../model.js';
import { recordReader } from './checked.js';
import { createHash } from 'node:crypto';
import { batchGetConsistent, conditionalUpdate, itemOf, keyOf, partitionOf, queryPage, sameKey, setClause, withoutNulls, type Item, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix, table } from './table.js';
import { newEventId } from '../ids.js';
import { iso } from '../time.js';
import { putWrite, type Write } from './unit-of-work.js';

const { gsi1, gsi2, gsi3, gsi4, gsi6 } = table.indexes;

/** An actor's `sub` in a key: as it is (escaped) up to 200 characters, its SHA-256 beyond (a key holds at most 2,048 bytes); tagged, so the two never meet. */
const subKey = (sub: string) => (sub.length <= 200 ? `S:${keyPart(sub)}` : `H:${createHash('sha256').update(sub).digest('base64url')}`);

export const auditKeys = {
  event: (orgId: string, eventId: string): Key => ({ pk: `${orgPrefix(orgId)}#AUDIT`, sk: `EVENT#${eventId}` }),
  byApp: (orgId: string, appId: string, eventId: string) => ({ [gsi1.partitionKey]: `${orgPrefix(orgId)}#AUDIT#APP#${keyPart(appId)}`, [gsi1.sortKey]: `EVENT#${eventId}` }),
  byUser: (orgId: string, userId: string, eventId: string) => ({ [gsi2.partitionKey]: `${orgPrefix(orgId)}#AUDIT#USER#${keyPart(userId)}`, [gsi2.sortKey]: `EVENT#${eventId}` }),
  byAppAndUser: (orgId: string, appId: string, userId: string, eventId: string) => ({
    [gsi3.partitionKey]: `${orgPrefix(orgId)}#AUDIT#APP#${keyPart(appId)}#USER#${keyPart(userId)}`, [gsi3.sortKey]: `EVENT#${eventId}`,
  }),
  /** By actor (gsi4, keys only) and by action (gsi6, keys and a few attributes): every event has both. */
  byActor: (orgId: string, sub: string, eventId: string) => ({ [gsi4.partitionKey]: `${orgPrefix(orgId)}#AUDIT#ACTOR#${subKey(sub)}`, [gsi4.sortKey]: `EVENT#${eventId}` }),
  byAction: (orgId: string, action: string, eventId: string) => ({ [gsi6.partitionKey]: `${orgPrefix(orgId)}#AUDIT#ACTION#${action}`, [gsi6.sortKey]: `EVENT#${eventId}` }),
};

/** Every index entry of an event: by actor and action always, by app and user as it names them. */
export function auditIndexKeys(event: Pick<AuditEvent, 'orgId' | 'eventId' | 'appId' | 'userId' | 'action' | 'actor'>) {
  const { orgId, eventId, appId, userId } = event;
  return {
    ...(appId ? auditKeys.byApp(orgId, appId, eventId) : {}),
    ...(userId ? auditKeys.byUser(orgId, userId, eventId) : {}),
    ...(appId && userId ? auditKeys.byAppAndUser(orgId, appId, userId, eventId) : {}),
    ...auditKeys.byActor(orgId, event.actor.sub, eventId),
    ...auditKeys.byAction(orgId, event.action, eventId),
  };
}

/** An event as stored, with its index entries. */
export const eventItem = (event: AuditEvent): Item => itemOf('AuditEvent', auditKeys.event(event.orgId, event.eventId), withoutNulls(event), auditIndexKeys(event));

/**
 * How much older than its commit an event's time may be. An event is stamped when its change is
 * prepared; one prepared longer ago (a worker step that did its work first, a request that
 * retried) is stamped again as it is sent, so an event's time is never far before it can be
 * read, and a reader that waits a little (an export's first step) sees every event before its time.
 */
export const EVENT_STAMP_LAG_MS = 500;

/** Items of events this process recorded (`recordEvent`): only they are stamped again; an event written as it was (a restore's replay) keeps its time. */
const recorded = new WeakSet<Item>();

/** The item of an event this process recorded more than EVENT_STAMP_LAG_MS before `now`, stamped at `now`; any other item as it is. */
export function stampedAtCommit(item: Item, now: number): Item {
  const event = recorded.has(item) && Date.parse(String(item.at)) < now - EVENT_STAMP_LAG_MS ? toEvent(item) : undefined;
  if (!event) return item;
  const { orgId, actor, action, appId, userId, tokenId, jobId, reason, details } = event; // the event's own fields, not the stored keys
  const stamped = eventItem({ orgId, eventId: newEventId(now), at: iso(now), actor, action, appId, userId, tokenId, jobId, reason, details });
  recorded.add(stamped);
  return stamped;
}

/** The write that records an event, for the transaction that makes the change it describes. */
export function recordEvent(event: AuditEvent): Write {
  const item = eventItem(event);
  recorded.add(item);
  return putWrite(item, { expression: 'attribute_not_exists(pk)' });
}

const toEvent = /* @__PURE__ */ recordReader('AuditEvent', () => ({ orgId: v.string(), eventId: v.string(), at: v.string(), action: v.string() }), (e) => {
  const v = e as Partial<AuditEvent>;
  return { ...(e as unknown as AuditEvent), appId: v.appId ?? null, userId: v.userId ?? null, tokenId: v.tokenId ?? null, jobId: v.jobId ?? null, reason: v.reason ?? null, details: v.details ?? {} };
});

/** What an audit page may be narrowed by: `since` inclusive, `until` exclusive. */
export interface AuditFilter {
  appId?: string;
  userId?: string;
  actions?: string[];
  actor?: string;
  since?: string;
  until?: string;
}

/** The event ids' time part (ids sort by time: `evt_` and the time in base 36, fixed width). */
const eventIdAt = (at: string) => `evt_${Date.parse(at).toString(36).padStart(10, '0')}`;

/**
 * The org's audit log, newest first: one Query per page, of the index of one filter (app and user,
 * user, app, actor, a single action, or none: the log itself), between `since` and `until` on its
 * sort key (events sort by time). The other filters are applied to the `limit` events the page
 * reads, so a page may hold fewer (none, even) while there are more. Indexes holding whole events
 * (the log, by app, by user) filter in the Query; keys-only ones (by app and user, actor, action)
 * after the page's one BatchGetItem.
 */
export async function listAuditEvents(orgId: string, filter: AuditFilter, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<AuditEvent>> {
  const { appId, userId, actor } = filter;
  const actions = filter.actions?.length ? filter.actions : undefined;
  const between: [string, string] = [`EVENT#${filter.since ? eventIdAt(filter.since) : ''}`, `EVENT#${filter.until ? eventIdAt(filter.until) : '~'}`];
  const spec = { limit, startKey, descending: true, between };
  const keep = (e: AuditEvent) => (!actions || actions.includes(e.action)) && (actor === undefined || e.actor.sub === actor) && (appId === undefined || e.appId === appId) && (userId === undefined || e.userId === userId);
  const keysOnly = async (index: 'gsi3' | 'gsi4' | 'gsi6', partition: string) => {
    const page = await queryPage({ ...spec, index, partition });
    const found = page.items.length ? await batchGetConsistent(page.items.map(keyOf)) : [];
    const kept = page.items.map((k, i) => ({ event: toEvent(found.find(sameKey(keyOf(k)))), resumeKey: page.resumeKeys[i] as Item })).filter(({ event }) => event !== undefined && keep(event));
    return { items: kept.map(({ event }) => event as AuditEvent), lastKey: page.lastKey, resumeKeys: kept.map(({ resumeKey }) => resumeKey) };
  };
  if (appId && userId) return keysOnly('gsi3', partitionOf('gsi3', auditKeys.byAppAndUser(orgId, appId, userId, '')));
  if (!appId && !userId && actor !== undefined) return keysOnly('gsi4', partitionOf('gsi4', auditKeys.byActor(orgId, actor, '')));
  if (!appId && !userId && actions?.length === 1) return keysOnly('gsi6', partitionOf('gsi6', auditKeys.byAction(orgId, actions[0] as string, '')));
  // Whole events: the other filters go into the Query.
  const conditions = [
    ...(actions ? [`#action IN (${actions.map((_, i) => `:action${i}`).join(', ')})`] : []),
    ...(actor !== undefined ? ['#actor.#sub = :sub'] : []),
  ];
  const residual = conditions.length ? {
    filter: {
      expression: conditions.join(' AND '),
      names: { ...(actions ? { '#action': 'action' } : {}), ...(actor !== undefined ? { '#actor': 'actor', '#sub': 'sub' } : {}) },
      values: { ...Object.fromEntries((actions ?? []).map((a, i) => [`:action${i}`, a])), ...(actor !== undefined ? { ':sub': actor } : {}) },
    },
  } : {};
  const page = appId
    ? await queryPage({ ...spec, ...residual, index: 'gsi1', partition: partitionOf('gsi1', auditKeys.byApp(orgId, appId, '')) })
    : userId
      ? await queryPage({ ...spec, ...residual, index: 'gsi2', partition: partitionOf('gsi2', auditKeys.byUser(orgId, userId, '')) })
      : await queryPage({ ...spec, ...residual, partition: auditKeys.event(orgId, '').pk });
  return { items: page.items.map((i) => toEvent(i) as AuditEvent), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}

/** Index entries by actor and action for an event an older version wrote without them (`npm run migrate`): only if still missing. */
export function indexLegacyEvent(item: Item): Promise<boolean> {
  const event = toEvent(item);
  if (!event) return Promise.resolve(false);
  const keys = { ...auditKeys.byActor(event.orgId, event.actor.sub, event.eventId), ...auditKeys.byAction(event.orgId, event.action, event.eventId) };
  const set = setClause(keys, 'k');
  return conditionalUpdate({
    Key: keyOf(item), UpdateExpression: `SET ${set.parts.join(', ')}`,
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#missing)',
    ExpressionAttributeNames: { ...set.names, '#missing': gsi4.partitionKey }, ExpressionAttributeValues: set.values,
  });
}
