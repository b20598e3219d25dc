import * as v from 'valibot';
import { auditActions, type AuditAction } from '../registries.js';
import { daySchema, documentedAs, idSchema, listQueryShape, stringBetween, timestampSchema } from './common.js';

export const listUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  sort: v.optional(v.pipe(v.picklist(['userId', '-lastUsedAt']), v.description('By userId, or most recent use first (to the minute); with `q`, only `userId`.')), 'userId'),
  q: v.optional(v.pipe(stringBetween(1, 255), v.description('A prefix of the userId or of the whole userName, case-insensitive: the users whose id matches (by userId), then those whose name does (by name).'))),
});


const actionNames = Object.keys(auditActions) as [AuditAction, ...AuditAction[]];

export const auditQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  userId: v.optional(idSchema),
  action: v.optional(v.pipe(
    v.string(),
    documentedAs({ type: 'array', items: { type: 'string', enum: actionNames }, minItems: 1, uniqueItems: true }),
    v.description('Only these actions: repeat it (`?action=token.revoked&action=grant.revoked`) or separate them by commas.'),
    v.transform((s) => [...new Set(s.split(','))]),
    v.check((actions) => actions.every((a) => (actionNames as string[]).includes(a)), `must be audit actions: ${actionNames.join(', ')}`),
    v.transform((actions) => actions as AuditAction[]),
  )),
  actor: v.optional(v.pipe(stringBetween(1, 1024), v.description('Only events of this actor: its `sub`.'))),
  since: v.optional(v.pipe(timestampSchema, v.description('Only events at or after this time (RFC 3339).'))),
  until: v.optional(v.pipe(timestampSchema, v.description('Only events before this time (RFC 3339).'))),
});

/** POST /v1/audit-exports: a format and the audit list's filters. */
export const auditExportRequestSchema = v.strictObject({
  format: v.pipe(v.picklist(['csv', 'ndjson']), v.description('`csv`: the contract\'s columns, formula cells defused; `ndjson`: each event exactly as the list shows it, one a line.')),
  filters: v.optional(v.strictObject({
    appId: v.optional(idSchema),
    userId: v.optional(idSchema),
    action: v.optional(v.pipe(
      v.array(v.picklist(actionNames)), v.minLength(1),
      v.check((actions) => new Set(actions).size === actions.length, 'must not repeat an action'),
      v.description('Only these actions.'),
    )),
    actor: v.optional(v.pipe(stringBetween(1, 1024), v.description('Only events of this actor: its `sub`.'))),
    since: v.optional(v.pipe(timestampSchema, v.description('Only events at or after this time (RFC 3339).'))),
    until: v.optional(v.pipe(timestampSchema, v.description('Only events before this time (RFC 3339); the request\'s time at the latest.'))),
  }), {}),
});

/** A range of days of usage: both inclusive, at most 90 days, none before today − 89 (UTC). */
export const usageRangeQuerySchema = v.strictObject({
  from: v.optional(v.pipe(daySchema, v.description('The first day (UTC). Alone: the range ends today. At most 89 days before today.'))),
  to: v.optional(v.pipe(daySchema, v.description('The last day (UTC), today at the latest. Alone: the range starts 29 days before it. Neither: the 30 days ending today.'))),
});
