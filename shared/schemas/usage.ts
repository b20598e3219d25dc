import * as v from 'valibot';
import { actorKinds, auditActions } from '../registries.js';
import { counterSchema, idSchema, instantSchema, listQueryShape, nullableInstant, type Output } from './common.js';

export const listUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  sort: v.optional(v.pipe(v.picklist(['userId', '-lastUsedAt']), v.description('By userId, or most recent use first (to the minute).')), 'userId'),
});

export const userPathSchema = v.strictObject({ userId: idSchema });

export const auditQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  userId: v.optional(idSchema),
});

// ---- Answers ----

/** A row of Usage by User: first and most recent use, number of uses, tokens held. */
export const usageSchema = v.object({
  userId: idSchema,
  userName: v.nullable(v.string()),
  firstUsedAt: nullableInstant,
  lastUsedAt: nullableInstant,
  useCount: counterSchema,
  activeTokenCount: counterSchema,
});

/** The same for one of a user's apps. */
export const userAppSchema = v.object({ appId: idSchema, ...usageSchema.entries });

export const auditEventSchema = v.object({
  eventId: v.string(),
  at: instantSchema,
  actor: v.object({ sub: v.string(), kind: v.picklist(actorKinds) }),
  action: v.picklist(Object.keys(auditActions) as [keyof typeof auditActions, ...(keyof typeof auditActions)[]]),
  appId: v.nullable(v.string()),
  userId: v.nullable(v.string()),
  tokenId: v.nullable(v.string()),
  jobId: v.nullable(v.string()),
  reason: v.nullable(v.string()),
  details: v.record(v.string(), v.unknown()),
});

export type UsageView = Output<typeof usageSchema>;
export type AuditEventView = Output<typeof auditEventSchema>;
