import * as z from 'zod/mini';
import { idSchema, listQueryShape } from './common.js';

export const listUsersQuerySchema = z.lazy(() => z.strictObject({
  ...listQueryShape(),
  sort: z._default(z.enum(['userId', '-lastUsedAt']), 'userId'),
}));

export const userPathSchema = z.lazy(() => z.strictObject({ userId: idSchema }));

export const auditQuerySchema = z.lazy(() => z.strictObject({
  ...listQueryShape(),
  appId: z.optional(idSchema),
  userId: z.optional(idSchema),
}));
