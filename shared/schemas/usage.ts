import * as v from 'valibot';
import { idSchema, listQueryShape } from './common.js';

export const listUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  sort: v.optional(v.pipe(v.picklist(['userId', '-lastUsedAt']), v.description('By userId, or most recent use first (to the minute).')), 'userId'),
});


export const auditQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  userId: v.optional(idSchema),
});

