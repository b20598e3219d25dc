import * as v from 'valibot';
import { idSchema, listQuerySchema, type Output, scopeTokenSchema, stringBetween, timestampSchema, tokenIdSchema, trimmedBetween } from './common.js';


export const tokenTypeSchema = v.picklist(['access', 'refresh']);
export type TokenType = Output<typeof tokenTypeSchema>;

export const registerTokenSchema = v.strictObject({
  token: v.pipe(stringBetween(16, 4096), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'), v.description('The raw value; never stored, logged or returned.')),
  type: tokenTypeSchema,
  appId: idSchema,
  userId: idSchema,
  userName: v.optional(trimmedBetween(1, 255)),
  scopes: v.optional(v.pipe(v.array(scopeTokenSchema), v.maxLength(100)), []),
  expiresAt: v.optional(timestampSchema),
  refreshTokenId: v.optional(v.pipe(tokenIdSchema, v.description('An access token\'s refresh token: active, of the same app and user, in its one spelling.'))),
});

export type RegisterTokenInput = Output<typeof registerTokenSchema>;

/** RFC 7662 §2.1 / RFC 7009 §2.1 form body. Unknown hints are ignored, as both RFCs allow. */
export const oauthTokenFormSchema = v.object({
  token: v.pipe(v.string('is required'), v.minLength(1, 'is required'), v.maxLength(4096)),
  token_type_hint: v.optional(v.pipe(v.string(), v.maxLength(64), v.description('Ignored (RFC 7662 §2.1, RFC 7009 §2.1).'))),
});

export const userTokensQuerySchema = listQuerySchema;

