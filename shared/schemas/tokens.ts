import { z } from 'zod';
import { idSchema, listQuerySchema, scopeTokenSchema, timestampSchema } from './common.js';

/** Public token ids are 22 base64url characters (see shared/crypto.ts). */
export const tokenIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a token id');

export const tokenTypeSchema = z.enum(['access', 'refresh']);
export type TokenType = z.output<typeof tokenTypeSchema>;

export const registerTokenSchema = z.strictObject({
  token: z.string().min(16).max(4096).regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'),
  type: tokenTypeSchema,
  appId: idSchema,
  userId: idSchema,
  userName: z.string().trim().min(1).max(255).optional(),
  scopes: z.array(scopeTokenSchema).max(100).default([]),
  expiresAt: timestampSchema.optional(),
  refreshTokenId: tokenIdSchema.optional(),
});

export type RegisterTokenInput = z.output<typeof registerTokenSchema>;

/** RFC 7662 §2.1 / RFC 7009 §2.1 form body. Unknown hints are ignored, as both RFCs allow. */
export const oauthTokenFormSchema = z.object({
  token: z.string({ error: 'is required' }).min(1, 'is required').max(4096),
  token_type_hint: z.string().max(64).optional(),
});

export const userTokensPathSchema = z.strictObject({ appId: idSchema, userId: idSchema });
export const tokenPathSchema = z.strictObject({ appId: idSchema, userId: idSchema, tokenId: tokenIdSchema });
export const userTokensQuerySchema = listQuerySchema;
