import * as z from 'zod/mini';
import { idSchema, listQuerySchema, scopeTokenSchema, stringBetween, timestampSchema, trimmedBetween } from './common.js';

/** Public token ids are 22 base64url characters, after `<key version>.` once the secret was rotated (see shared/crypto.ts). */
export const tokenIdSchema = z.lazy(() => z.string().check(z.regex(/^(?:[1-9]\d{0,3}\.)?[A-Za-z0-9_-]{22}$/, 'must be a token id')));

export const tokenTypeSchema = z.lazy(() => z.enum(['access', 'refresh']));
export type TokenType = z.output<typeof tokenTypeSchema>;

export const registerTokenSchema = z.lazy(() => z.strictObject({
  token: stringBetween(16, 4096).check(z.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces')),
  type: tokenTypeSchema,
  appId: idSchema,
  userId: idSchema,
  userName: z.optional(trimmedBetween(1, 255)),
  scopes: z._default(z.array(scopeTokenSchema).check(z.maxLength(100)), []),
  expiresAt: z.optional(timestampSchema),
  refreshTokenId: z.optional(tokenIdSchema),
}));

export type RegisterTokenInput = z.output<typeof registerTokenSchema>;

/** RFC 7662 §2.1 / RFC 7009 §2.1 form body. Unknown hints are ignored, as both RFCs allow. */
export const oauthTokenFormSchema = z.lazy(() => z.object({
  token: z.string({ error: 'is required' }).check(z.minLength(1, 'is required'), z.maxLength(4096)),
  token_type_hint: z.optional(z.string().check(z.maxLength(64))),
}));

export const userTokensPathSchema = z.lazy(() => z.strictObject({ appId: idSchema, userId: idSchema }));
export const tokenPathSchema = z.lazy(() => z.strictObject({ appId: idSchema, userId: idSchema, tokenId: tokenIdSchema }));
export const userTokensQuerySchema = listQuerySchema;
