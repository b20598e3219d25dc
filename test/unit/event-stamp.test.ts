import { describe, expect, it } from 'vitest';
import { EVENT_STAMP_LAG_MS, eventItem, recordEvent, stampedAtCommit } from '../../shared/db/audit-event.js';
import type { AuditEvent } from '../../shared/model.js';

/** An event's time is never far before its commit (an export's first step reads after the request's time and a moment). */
describe('an audit event as its transaction is sent', () => {
  const event = (at: number): AuditEvent => ({
    orgId: 'org-1', eventId: `evt_${at.toString(36).padStart(10, '0')}000000000000`, at: new Date(at).toISOString(), actor: { sub: 'ada', kind: 'user' },
    action: 'revocation.completed', appId: 'crm', userId: 'bob', tokenId: null, jobId: 'job_1', reason: null, details: { n: 1 },
  });
  const now = Date.parse('2026-12-07T12:00:00.000Z');
  /** The item `recordEvent` puts (what a transaction sends). */
  const recordedItem = (e: AuditEvent) => (recordEvent(e) as unknown as { Put: { Item: Record<string, unknown> } }).Put.Item;

  it('keeps its time when it was stamped moments before', () => {
    const item = recordedItem(event(now - EVENT_STAMP_LAG_MS));
    expect(stampedAtCommit(item, now)).toBe(item);
  });

  it('is stamped again at the commit when its change was prepared longer ago, every key following its new id', () => {
    const restamped = stampedAtCommit(recordedItem(event(now - 5000)), now);
    expect(restamped.at).toBe('2026-12-07T12:00:00.000Z');
    expect(String(restamped.eventId).slice(0, 14)).toBe(`evt_${now.toString(36).padStart(10, '0')}`);
    const { eventId, at, ...same } = event(now - 5000);
    expect(restamped).toEqual(eventItem({ ...same, eventId: String(restamped.eventId), at: String(restamped.at) }));
    expect(Object.entries(restamped).filter(([name, value]) => /sk$/.test(name) && value !== `EVENT#${String(restamped.eventId)}`)).toEqual([]);
    expect(eventId).not.toBe(restamped.eventId);
    expect(at).not.toBe(restamped.at);
  });

  it('keeps the time of an event written as it was (a restore replaying its log)', () => {
    const replayed = eventItem(event(now - 86_400_000));
    expect(stampedAtCommit(replayed, now)).toBe(replayed);
  });

  it('leaves every other item alone', () => {
    const item = { entity: 'RevocationJob', at: new Date(now - 60_000).toISOString() };
    expect(stampedAtCommit(item, now)).toBe(item);
  });
});
