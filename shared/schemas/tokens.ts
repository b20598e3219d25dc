import * as v from 'valibot';
import { eitherBy, idSchema, listQuerySchema, type Output, scopeTokenSchema, stringBetween, timestampSchema, tokenIdSchema, trimmedBetween } from './common.js';

export const tokenTypeSchema = v.picklist(['access', 'refresh']);
export type TokenType = Output<typeof tokenTypeSchema>;

/** A raw token value as the authorization server issued it. */
const rawTokenSchema = v.pipe(stringBetween(16, 4096), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'));

/** One issued token; alone, or a member of a grant's call (`registerGrantSchema`). */
export const registerTokenSchema = v.strictObject({
  token: v.pipe(rawTokenSchema, v.description('The raw value; never stored, logged or returned.')),
  type: tokenTypeSchema,
  appId: idSchema,
  userId: idSchema,
  userName: v.optional(trimmedBetween(1, 255)),
  scopes: v.optional(v.pipe(v.array(scopeTokenSchema), v.maxLength(100)), []),
  expiresAt: v.optional(timestampSchema),
  refreshToken: v.optional(v.pipe(rawTokenSchema, v.description('An access token\'s refresh token, by raw value: an earlier member of the same call, or an active refresh token of the same app and user registered before.'))),
  refreshTokenId: v.optional(v.pipe(tokenIdSchema, v.description('The same, by the `tokenId` the service gave it, in its one spelling.'))),
  previousRefreshToken: v.optional(v.pipe(rawTokenSchema, v.description('Rotation: the refresh token this refresh token replaces, by raw value. It must be active; this registration retires it.'))),
  previousRefreshTokenId: v.optional(v.pipe(tokenIdSchema, v.description('The same, by `tokenId`.'))),
});

/** The tokens of one grant issued at once (a code exchange, a refresh grant): all or nothing. */
export const registerGrantSchema = v.strictObject({
  tokens: v.pipe(v.array(registerTokenSchema), v.minLength(1), v.maxLength(10), v.description('Up to 10 tokens of one app and user; a member may name an earlier member as its refresh token or predecessor, by raw value.')),
});

/** POST /v1/tokens: one token, or `{ tokens: [...] }`; told apart by the `tokens` field, so each reports its own fields' errors. */
export const registrationBodySchema = eitherBy('tokens', registerGrantSchema, registerTokenSchema);

export type RegisterTokenInput = Output<typeof registerTokenSchema>;
export type RegistrationBody = Output<typeof registrationBodySchema>;

/** RFC 7662 §2.1 / RFC 7009 §2.1 form body. Unknown hints are ignored, as both RFCs allow. */
export const oauthTokenFormSchema = v.object({
  token: v.pipe(v.string('is required'), v.minLength(1, 'is required'), v.maxLength(4096)),
  token_type_hint: v.optional(v.pipe(v.string(), v.maxLength(64), v.description('Ignored (RFC 7662 §2.1, RFC 7009 §2.1).'))),
});

export const userTokensQuerySchema = listQuerySchema;

