import * as v from 'valibot';
import { instantSchema, nullableInstant } from '../schemas/answers.js';
import { idSchema, type Output, tokenIdSchema } from '../schemas/common.js';
import { registrationBodySchema } from '../schemas/registration.js';
import { oauthTokenFormSchema, tokenTypeSchema } from '../schemas/tokens.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

/** A registration (201, or 200 for the same token again). */
export const registrationSchema = v.object({
  tokenId: tokenIdSchema,
  type: tokenTypeSchema,
  appId: idSchema,
  userId: v.pipe(v.nullable(idSchema), v.description('null for a token of the app\'s own client.')),
  issuedAt: instantSchema,
  expiresAt: nullableInstant,
});

/** RFC 7662 §2.2: exactly `{ active: false }`, or an active token's claims. */
export const introspectionSchema = v.union([
  v.strictObject({ active: v.literal(false) }),
  v.object({
    active: v.literal(true),
    scope: v.string(),
    client_id: v.pipe(v.string(), v.description('The appId.')),
    sub: v.optional(v.pipe(v.string(), v.description('The userId; absent for a token of the app\'s own client (client credentials).'))),
    username: v.optional(v.string()),
    token_type: v.optional(v.pipe(v.picklist(['Bearer', 'DPoP']), v.description('How an access token is presented (RFC 6749 §7.1): `DPoP` when it is bound to a DPoP key (`cnf.jkt`). Absent for a refresh token.'))),
    token_use: v.pipe(v.picklist(['access', 'refresh']), v.description('Which kind of token it is.')),
    exp: v.optional(v.pipe(v.number(), v.integer())),
    iat: v.pipe(v.number(), v.integer(), v.description('When the authorization server issued it (the registered `issuedAt`), in epoch seconds.')),
    aud: v.optional(v.pipe(v.union([v.string(), v.array(v.string())]), v.description('The registered audience: a string for one, an array for several.'))),
    iss: v.optional(v.string()),
    cnf: v.optional(v.object({ jkt: v.optional(v.string()), 'x5t#S256': v.optional(v.string()) })),
  }),
]);

/** A grant's call answers each of its tokens, in order. */
export const grantRegistrationSchema = /* @__PURE__ */ v.object({ tokens: /* @__PURE__ */ v.array(registrationSchema) });
/** POST /v1/tokens answers in the shape it was sent: one token, or a grant's. */
const registrationAnswerSchema = /* @__PURE__ */ v.union([registrationSchema, grantRegistrationSchema]);

export type RegistrationView = Output<typeof registrationSchema>;
export type IntrospectionView = Output<typeof introspectionSchema>;

const registrationExample = {
  tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', appId: 'crm-sync', userId: 'ada@example.com', issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T18:00:00.000Z',
} as const;
const refreshRegistrationExample = { ...registrationExample, tokenId: 'Zm9vYmFyYmF6cXV4MTIzNA', type: 'refresh', expiresAt: '2026-12-28T16:00:00.000Z' } as const;

// ---- Routes ----

export const registerToken = {
  method: 'POST', path: '/v1/tokens', handler: 'register-token', scopes: ['tokens:write'], budget: 'register', table: 'RW',
  tag: 'tokens', summary: 'Register issued tokens: one, or a whole grant at once (authorization server)',
  description: 'One token, or `{ "tokens": [...] }` (up to 10 of one app and user, all or nothing): a code exchange is one call (the refresh token, then its access token naming it by raw value), a refresh grant too (the new refresh token naming the one it replaces as `previousRefreshToken`, then the new access token). 201, or 200 when every token was registered already (a retry, even once a refresh token of it was rotated out since: it stays retired). 409 `token-revoked` for a token that was revoked (RFC 7009 before its registration included); 409 `app-blocked` for a blocked app; 409 `user-blocked` for a user denied new tokens; 409 `parent-token-inactive` naming the field when a parent or predecessor is not an active refresh token of the same app and user; 409 `refresh-token-reused` when the predecessor was rotated out already (its whole grant is revoked); 409 `conflict` for the same raw value under another app, user or type. When several apply, `token-revoked` comes first, then `app-blocked`, `user-blocked`, `parent-token-inactive` / `refresh-token-reused`, then 403 `user-not-approved`, then 400 `scope-not-allowed`.',
  input: {
    body: {
      schema: registrationBodySchema, media: 'application/json',
      examples: {
        token: {
          summary: 'One access token',
          value: {
            token: 'eyJhbGciOiJSUzI1NiJ9.access-token-value', type: 'access', appId: 'crm-sync', userId: 'ada@example.com', userName: 'Ada Lovelace',
            scopes: ['api'], issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T18:00:00.000Z', audience: ['https://orders.example'], issuer: 'https://as.example',
          },
        },
        refreshGrant: {
          summary: 'A refresh grant with rotation, in one call',
          value: {
            tokens: [
              { token: 'new-refresh-token-value-0123456789', type: 'refresh', appId: 'crm-sync', userId: 'ada@example.com', previousRefreshToken: 'old-refresh-token-value-0123456789' },
              { token: 'eyJhbGciOiJSUzI1NiJ9.access-token-value', type: 'access', appId: 'crm-sync', userId: 'ada@example.com', scopes: ['api'], expiresAt: '2026-11-28T18:00:00.000Z', refreshToken: 'new-refresh-token-value-0123456789' },
            ],
          },
        },
      },
    },
  },
  answers: {
    200: { description: 'Already registered: the same body as when it was.', schema: registrationAnswerSchema, example: registrationExample },
    201: {
      description: 'Registered: the token, or `{ "tokens": [...] }` in the order of the call.', schema: registrationAnswerSchema,
      examples: {
        token: { summary: 'One token', value: registrationExample },
        grant: { summary: 'A grant\'s tokens', value: { tokens: [refreshRegistrationExample, registrationExample] } },
      },
    },
    400: {
      description: '`validation-error`: a field is invalid (`errors[].path` names it); `scope-not-allowed`: a scope the app does not declare (when it declares any); `issuer-not-trusted`: a token registered by its id (`issuer` and `jti`) names an issuer the org does not trust.',
      problems: [
        { type: 'validation-error', detail: 'body.userId: is required' },
        { type: 'scope-not-allowed', detail: 'body.scopes.1 (admin) is not among the app\'s scopes' },
        { type: 'issuer-not-trusted', detail: 'body.issuer (https://idp.example/realms/acme) is not an issuer the org trusts: trust it first (PUT /v1/issuers/{issuerId})' },
      ],
    },
    403: {
      description: '`insufficient-scope`, `edition-not-supported`; `user-not-approved`: the app\'s `permittedUsers` policy is `admin-approved-pre-authorized` and an admin has not approved the user (answer the client `invalid_grant`).',
      problems: [
        { type: 'insufficient-scope', detail: 'This operation requires the scope tokens:write' },
        { type: 'edition-not-supported', detail: 'OAuth Usage is available in Professional, Performance, Unlimited and Developer editions, not Group' },
        { type: 'user-not-approved', detail: 'User ada@example.com is not approved for this app (its permittedUsers policy is admin-approved-pre-authorized)' },
      ],
    },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
    409: {
      description: '`token-revoked`: this raw token was revoked and stays revoked (retrying cannot help); `app-blocked` / `user-blocked`: answer the client `invalid_grant` (`unauthorized_client` for client credentials) until an admin unblocks; `parent-token-inactive` / `refresh-token-reused`: answer the client `invalid_grant`; `conflict`: registered for another app, user or type, or the app was changed concurrently too often (retry).',
      problems: [
        { type: 'token-revoked', detail: 'This token was revoked; a revoked token cannot be registered again' },
        { type: 'app-blocked', detail: 'App crm-sync is blocked: it takes no new tokens until an admin unblocks it' },
        { type: 'user-blocked', detail: 'User ada@example.com is blocked: they get no new tokens in any app until an admin unblocks them' },
        { type: 'parent-token-inactive', detail: 'body.tokens.0.previousRefreshToken is not an active refresh token of this app and user' },
        { type: 'refresh-token-reused', detail: 'body.tokens.0.previousRefreshToken was rotated out already: the refresh token was reused, and its whole grant is revoked' },
        { type: 'conflict', detail: 'This token is already registered for another app, user or type' },
      ],
    },
  },
} as const satisfies RouteDefinition;

export const introspect = {
  method: 'POST', path: '/oauth2/introspect', handler: 'introspect', scopes: ['tokens:introspect'], authenticate: 'bearer-jwt-or-client-secret-basic', budget: { authorizationServer: 'register', others: 'introspect' }, table: 'RW',
  tag: 'tokens', summary: 'RFC 7662 token introspection (resource server); each active introspection is one use',
  description: 'Form body `token=…`. Unknown, expired, revoked, rotated-out or out-of-policy tokens, and tokens of another org, answer exactly `{"active": false}`; so does a refresh token to a caller without `tokens:write` (a resource server: only the authorization server is presented refresh tokens). The caller authenticates with a bearer JWT (verified by the function with the gateway\'s rules: a bad one is 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`) or, as a declared resource server, with HTTP Basic client credentials (`client_secret_basic`: a wrong one is 401 `invalid_client` with a `Basic` challenge).',
  input: {
    body: { schema: oauthTokenFormSchema, media: 'application/x-www-form-urlencoded', example: { token: 'eyJhbGciOiJSUzI1NiJ9.access-token-value', token_type_hint: 'access_token' } },
  },
  answers: {
    200: {
      description: 'Active (one use recorded), or exactly `{"active": false}`.', schema: introspectionSchema,
      examples: {
        active: {
          summary: 'An active access token',
          value: {
            active: true, scope: 'api', client_id: 'crm-sync', sub: 'ada@example.com', username: 'Ada Lovelace', token_type: 'Bearer', token_use: 'access',
            exp: 1795892400, iat: 1795885200, aud: 'https://orders.example', iss: 'https://as.example',
          },
        },
        inactive: { summary: 'Anything else', value: { active: false } },
      },
    },
    503: {
      description: '`temporarily_unavailable`: the identity provider\'s keys could not be read to verify a bearer JWT (HTTP Basic callers are not affected); retry after `Retry-After` seconds.',
      problems: [{ type: 'temporarily-unavailable', detail: 'The identity provider\'s keys could not be read to verify the bearer token; retry shortly' }],
      headers: ['Retry-After'],
    },
  },
} as const satisfies RouteDefinition;

export const revoke = {
  method: 'POST', path: '/oauth2/revoke', handler: 'revoke', scopes: ['tokens:write'], budget: 'unlimited', table: 'RW', enqueues: true,
  tag: 'tokens', summary: 'RFC 7009 token revocation; 200 whether or not the token was known',
  description: 'Form body `token=…`. A refresh token takes its whole grant (every refresh and access token of it); a token not registered yet is remembered as revoked (at least 24 hours), so its registration later is 409 `token-revoked`. Audited as `token.revoked` with the caller as actor (kind `client`).',
  input: {
    body: { schema: oauthTokenFormSchema, media: 'application/x-www-form-urlencoded', example: { token: 'refresh-token-value-0123456789', token_type_hint: 'refresh_token' } },
  },
  answers: { 200: { description: 'Revoked, or unknown (RFC 7009 §2.2): an empty body either way.' } },
} as const satisfies RouteDefinition;
