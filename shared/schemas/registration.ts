/**
 * POST /v1/tokens's body (contract section 4): apart from the token schemas every token route
 * shares, so that the functions of the other routes do not bundle it.
 */
import * as v from 'valibot';
import { documentedAs, eitherBy, idSchema, isHttpUrl, type Output, scopeTokenSchema, stringBetween, timestampSchema, tokenIdSchema, trimmedBetween } from './common.js';
import { audienceSchema, confirmationSchema, rawTokenSchema, tokenTypeSchema } from './tokens.js';

/** One issued token; alone, or a member of a grant's call (`registerGrantSchema`). */
export const registerTokenSchema = v.strictObject({
  token: v.optional(v.pipe(rawTokenSchema, v.description('The raw value; never stored, logged or returned. Required, unless the token is a JWT of a trusted issuer registered by its id (`issuer` and `jti`).'))),
  jti: v.optional(v.pipe(idSchema, v.description('A JWT access token of a trusted issuer, registered by its token id (the issuer\'s token-id claim: `jti`, or Entra ID\'s `uti`) instead of its value, for an authorization server that knows only ids (a Keycloak event listener); with `issuer`, which the org must trust (400 `issuer-not-trusted`). The JWT presented to introspection later is this token.'))),
  type: tokenTypeSchema,
  appId: idSchema,
  userId: v.optional(v.pipe(idSchema, v.description('Left out for a token of the app\'s own client (client credentials): counted in the app\'s `activeTokenCount`, not in its users.'))),
  userName: v.optional(v.pipe(trimmedBetween(1, 255), v.description('The user\'s display name (only with `userId`).'))),
  scopes: v.optional(v.pipe(v.array(scopeTokenSchema), v.maxLength(100)), []),
  issuedAt: v.optional(v.pipe(timestampSchema, v.description('When the authorization server issued it (default: now); at most 5 minutes ahead (clock skew: a time ahead of the service\'s is taken as its now, where every policy clock starts) and 24 hours back. Introspection answers it as `iat`.'))),
  expiresAt: v.optional(timestampSchema),
  audience: v.optional(v.pipe(
    v.array(audienceSchema), v.minLength(1), v.maxLength(10),
    v.description('The resource servers it is meant for (RFC 8707 `resource`, JWT `aud`). Introspection answers it as `aud`; a declared resource server sees only tokens whose audience includes its own. Left out: every resource server of the org.'),
  )),
  issuer: v.optional(v.pipe(stringBetween(1, 1024), v.check(isHttpUrl, 'must be an http(s) URL'), documentedAs({ type: 'string', format: 'uri', maxLength: 1024 }), v.description('The authorization server\'s issuer identifier, answered as `iss`.'))),
  cnf: v.optional(v.pipe(confirmationSchema, v.description('A sender-constrained token\'s confirmation (RFC 7800): `jkt`, the RFC 9449 DPoP key thumbprint (introspection answers `token_type: DPoP`), or `x5t#S256`, the RFC 8705 certificate thumbprint. Answered as `cnf`.'))),
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
