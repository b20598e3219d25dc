import { z } from 'zod';
import { idSchema, listQuerySchema } from './common.js';

export const listUsersQuerySchema = listQuerySchema.extend({
  sort: z.enum(['userId', '-lastUsedAt']).default('userId'),
});

export const userPathSchema = z.strictObject({ userId: idSchema });

export const auditQuerySchema = listQuerySchema.extend({
  appId: idSchema.optional(),
  userId: idSchema.optional(),
});
