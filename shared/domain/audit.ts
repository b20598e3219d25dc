import { listAuditEvents, type AuditFilter } from '../db/audit-event.js';
import { ValidationError } from '../errors.js';
import { newEventId } from '../ids.js';
import { iso } from '../time.js';
import { isClientUser, type Actor, type ActorKind, type AuditAction, type AuditEvent } from '../model.js';

import { cursors, listAnswer } from './paging.js';
import type { AuditEventView } from '../api/audit.js';

export interface AuditSubject {
  appId?: string;
  userId?: string;
  tokenId?: string;
  jobId?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** An event for an action a caller (or the system) took; stored by the transaction that makes the change. */
export function auditEvent(caller: Actor, action: AuditAction, subject: AuditSubject, now: number, kind: ActorKind = 'user'): AuditEvent {
  return {
    orgId: caller.orgId,
    eventId: newEventId(now),
    at: iso(now),
    actor: { sub: caller.sub, kind },
    action,
    appId: subject.appId ?? null,
    userId: subject.userId === undefined || isClientUser(subject.userId) ? null : subject.userId,
    tokenId: subject.tokenId ?? null,
    jobId: subject.jobId ?? null,
    reason: subject.reason ?? null,
    details: subject.details ?? {},
  };
}

/** The contract's field order (stored maps come back in any order). */
export function auditView(e: AuditEvent): AuditEventView {
  return {
    eventId: e.eventId, at: e.at, actor: { sub: e.actor.sub, kind: e.actor.kind }, action: e.action,
    appId: e.appId, userId: e.userId, tokenId: e.tokenId, jobId: e.jobId, reason: e.reason, details: e.details,
  };
}

/**
 * GET /v1/audit-events: newest first, narrowed by app, user, actions, actor and time. A cursor
 * belongs to its filters: another filter's cursor is a 400.
 */
export async function listAudit(orgId: string, filter: AuditFilter, limit: number, cursor: string | undefined) {
  if (filter.since && filter.until && filter.since >= filter.until) throw ValidationError.field('query.until', 'must be after since');
  const list = ['audit', filter.appId, filter.userId, filter.actions?.join(','), filter.actor, filter.since, filter.until].map((part) => part ?? '').join('\n');
  const page = await listAuditEvents(orgId, filter, limit, cursors.decode(orgId, list, cursor));
  return listAnswer(orgId, list, page, auditView);
}
