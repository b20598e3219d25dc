import * as z from 'zod/mini';
import { idSchema, listQuerySchema } from './common.js';

export const listUsersQuerySchema = z.extend(listQuerySchema, {
  sort: z._default(z.enum(['userId', '-lastUsedAt']), 'userId'),
});

export const userPathSchema = z.strictObject({ userId: idSchema });

export const auditQuerySchema = z.extend(listQuerySchema, {
  appId: z.optional(idSchema),
  userId: z.optional(idSchema),
});
