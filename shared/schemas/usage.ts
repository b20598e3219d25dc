import * as v from 'valibot';
import { idSchema, listQueryShape } from './common.js';

export const listUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  sort: v.optional(v.picklist(['userId', '-lastUsedAt']), 'userId'),
});

export const userPathSchema = v.strictObject({ userId: idSchema });

export const auditQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  userId: v.optional(idSchema),
});
