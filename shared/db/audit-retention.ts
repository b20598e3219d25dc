/**
 * How long each org keeps its audit events: DEFAULT_AUDIT_RETENTION_DAYS unless an operator set
 * the org's own (`npm run limits -- --audit-retention-days`), in `ORG#<org>#SETTINGS` / `AUDIT`.
 * An event's expiry (DynamoDB's TTL) is set when it is written, so a change applies to the events
 * written after it: every transaction that records an event gets it here (`unit-of-work.ts`), the
 * org's setting read about once a minute per container.
 */
import { PutCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { getItem } from './requests.js';
import { entityAttribute, orgPrefix, table } from './table.js';

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;
/** What an operator may set: a month to ten years. */
export const AUDIT_RETENTION_RANGE = { min: 30, max: 3650 } as const;
const CACHE_MS = 60_000;
const DAY_S = 86_400;

const settingsKey = (orgId: string) => ({ pk: `${orgPrefix(orgId)}#SETTINGS`, sk: 'AUDIT' });
const cached = new Map<string, { days: number; until: number }>();

/** The org's retention in days, as this container last read it (within a minute). */
export async function auditRetentionDays(orgId: string, now = Date.now()): Promise<number> {
  const hit = cached.get(orgId);
  if (hit && hit.until > now) return hit.days;
  const days = (await ownAuditRetentionDays(orgId)) ?? DEFAULT_AUDIT_RETENTION_DAYS;
  cached.set(orgId, { days, until: now + CACHE_MS });
  return days;
}

/** The org's own retention (an operator's call), or the default again with `null`. This container applies it at once, the others within a minute. */
export async function setAuditRetentionDays(orgId: string, days: number | null): Promise<void> {
  if (days === null) await db.send(new DeleteCommand({ TableName, Key: settingsKey(orgId) }));
  else await db.send(new PutCommand({ TableName, Item: { ...settingsKey(orgId), [entityAttribute]: 'OrgSettings', orgId, auditRetentionDays: days } }));
  cached.delete(orgId);
}

/** The org's own retention, if an operator set one. */
export async function ownAuditRetentionDays(orgId: string): Promise<number | undefined> {
  const item = await getItem(settingsKey(orgId));
  return typeof item?.auditRetentionDays === 'number' ? item.auditRetentionDays : undefined;
}

/** Gives the audit events a transaction puts their expiry (at + the org's retention), unless they have one. */
export async function expireAuditEvents(items: Record<string, unknown>[]): Promise<void> {
  for (const item of items) {
    if (item[entityAttribute] !== 'AuditEvent' || item[table.ttlAttribute] !== undefined) continue;
    const days = await auditRetentionDays(String(item.orgId));
    item[table.ttlAttribute] = Math.ceil(Date.parse(String(item.at)) / 1000) + days * DAY_S;
  }
}
