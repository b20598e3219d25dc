import * as v from 'valibot';
import { idSchema, listQueryShape, stringBetween } from './common.js';

export const listUsersQuerySchema = v.strictObject({
  ...listQueryShape,
  sort: v.optional(v.pipe(v.picklist(['userId', '-lastUsedAt']), v.description('By userId, or most recent use first (to the minute); with `q`, only `userId`.')), 'userId'),
  q: v.optional(v.pipe(stringBetween(1, 255), v.description('A prefix of the userId or of the whole userName, case-insensitive: the users whose id matches (by userId), then those whose name does (by name).'))),
});


export const auditQuerySchema = v.strictObject({
  ...listQueryShape,
  appId: v.optional(idSchema),
  userId: v.optional(idSchema),
});

