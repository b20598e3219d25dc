import * as v from 'valibot';
import { issuerPresets } from '../domain/issuer-presets.js';
import { instantSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import { idSchema, isHttpUrl, listQuerySchema, stringBetween, type Output } from '../schemas/common.js';
import type { RouteDefinition } from './define.js';

// ---- Inputs ----

export const issuerPathSchema = /* @__PURE__ */ v.strictObject({ issuerId: v.pipe(idSchema, v.description('The org\'s own name for the issuer (e.g. `okta-prod`).')) });

const urlSchema = v.pipe(stringBetween(1, 2048), v.check(isHttpUrl, 'must be an absolute https URL'));
const claimName = v.pipe(stringBetween(1, 64), v.regex(/^[A-Za-z0-9_.:-]+$/, 'must be a claim name: letters, digits and _ . : -'));
const audience = v.pipe(stringBetween(1, 512), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'));

export const trustIssuerSchema = v.strictObject({
  issuer: v.pipe(urlSchema, v.description('The exact `iss` of its tokens (https; plain http only to a loopback host when the service runs locally). Trusted by one issuer id of the org at most.')),
  jwksUri: v.pipe(urlSchema, v.description('Its JSON Web Key Set (https, public addresses only).')),
  audiences: v.optional(v.pipe(v.array(audience), v.minLength(1), v.maxLength(10), v.description('The `aud` values its access tokens must carry one of. Required unless its tokens tell access tokens from ID tokens themselves: `typ: at+jwt` (RFC 9068) or the Cognito preset\'s `token_use`.'))),
  preset: v.optional(v.pipe(v.picklist(issuerPresets), v.description('The vendor whose token claims it uses; the README\'s preset table lists each one\'s claims.'))),
  claims: v.optional(v.pipe(v.strictObject({
    client: v.optional(claimName), user: v.optional(claimName), userName: v.optional(claimName), scope: v.optional(claimName), tokenId: v.optional(claimName),
  }), v.description('Claim names over the preset\'s (or, without one, RFC 9068\'s: `client_id`, `sub`, `scope`, `jti`).'))),
});
export type TrustIssuerInput = Output<typeof trustIssuerSchema>;

// ---- Answers ----

export const issuerSchema = v.object({
  issuerId: idSchema,
  issuer: v.string(),
  jwksUri: v.string(),
  audiences: v.array(v.string()),
  preset: v.nullable(v.picklist(issuerPresets)),
  claims: v.pipe(v.object({ client: v.string(), user: v.string(), userName: v.nullable(v.string()), scope: v.string(), tokenId: v.string() }), v.description('The claim names its tokens are read by.')),
  backdatingSeconds: v.pipe(v.number(), v.description('How far before the issue the issuer sets `iat` (Entra ID: 300); revocations by time allow for it.')),
  trustedSince: v.pipe(nullableInstant, v.description('Tokens it issued at or before this (within 60 s of clock skew) are never learned under this trust: set when the org had trusted the URL before and stopped, or when the client, user or token-id claim (or the preset) changed, so that no token revoked before comes back under another name.')),
  learnedTokenCount: v.pipe(v.number(), v.description('Tokens of it learned at introspection since it was trusted.')),
  lastUsedAt: v.pipe(nullableInstant, v.description('When a token of it was last learned.')),
  createdAt: instantSchema,
  updatedAt: instantSchema,
});
export const issuerPageSchema = /* @__PURE__ */ pageOf(issuerSchema);
export type IssuerView = Output<typeof issuerSchema>;

const example = {
  issuerId: 'okta-prod', issuer: 'https://acme.okta.com/oauth2/default', jwksUri: 'https://acme.okta.com/oauth2/default/v1/keys', audiences: ['api://default'], preset: 'okta',
  claims: { client: 'cid', user: 'uid', userName: 'sub', scope: 'scp', tokenId: 'jti' }, backdatingSeconds: 0, trustedSince: null, learnedTokenCount: 1204, lastUsedAt: '2026-11-28T16:29:00.000Z',
  createdAt: '2026-11-01T09:00:00.000Z', updatedAt: '2026-11-01T09:00:00.000Z',
} as const;
const notTrusted = { description: '`not-found`: the org trusts no issuer by that id.', problems: [{ type: 'not-found', detail: 'Issuer okta-prod was not found' }] } as const;
const conflict = {
  description: '`conflict`: another issuer id of the org already trusts this issuer URL, or it changed concurrently too often (retry).',
  problems: [{ type: 'conflict', detail: 'The org already trusts https://acme.okta.com/oauth2/default as issuer okta-old' }],
} as const;

// ---- Routes ----

export const trustIssuer = {
  method: 'PUT', path: '/v1/issuers/{issuerId}', handler: 'trust-issuer', scopes: ['apps:manage'], table: 'RW',
  tag: 'issuers', summary: 'Trust a JWT issuer: its access tokens are learned when resource servers introspect them',
  description: 'From then on a JWT access token of this issuer presented to `POST /oauth2/introspect` is verified against its JWKS and, the first time, learned: registered under its token id with its app (created when missing, named by its client id) and user, then used, listed, counted and revoked like any other. 201 trusted, 200 replaced (the same again writes nothing). Audited as `issuer.changed`.',
  input: { path: issuerPathSchema, body: { schema: trustIssuerSchema, media: 'application/json', example: { issuer: 'https://acme.okta.com/oauth2/default', jwksUri: 'https://acme.okta.com/oauth2/default/v1/keys', audiences: ['api://default'], preset: 'okta' } } },
  answers: {
    200: { description: 'Replaced (or unchanged).', schema: issuerSchema, example },
    201: { description: 'Trusted.', schema: issuerSchema, example: () => ({ ...example, learnedTokenCount: 0, lastUsedAt: null }) },
    409: conflict,
  },
} as const satisfies RouteDefinition;

export const listIssuers = {
  method: 'GET', path: '/v1/issuers', handler: 'list-issuers', scopes: ['usage:read'], table: 'RO',
  tag: 'issuers', summary: 'The trusted issuers, by id, with what each contributed',
  input: { query: listQuerySchema },
  answers: { 200: { description: 'A page of issuers.', schema: issuerPageSchema, example: { items: [example], nextCursor: null } } },
} as const satisfies RouteDefinition;

export const getIssuer = {
  method: 'GET', path: '/v1/issuers/{issuerId}', handler: 'get-issuer', scopes: ['usage:read'], table: 'RO',
  tag: 'issuers', summary: 'One trusted issuer',
  input: { path: issuerPathSchema },
  answers: { 200: { description: 'The issuer.', schema: issuerSchema, example }, 404: notTrusted },
} as const satisfies RouteDefinition;

export const distrustIssuer = {
  method: 'DELETE', path: '/v1/issuers/{issuerId}', handler: 'distrust-issuer', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW',
  tag: 'issuers', summary: 'No longer trust an issuer: its learned tokens are inactive from then on',
  description: 'Every token learned from it introspects `{ "active": false }` once this answers, and its JWTs are no longer learned. Audited as `issuer.changed`.',
  input: { path: issuerPathSchema },
  answers: { 204: { description: 'No longer trusted.' }, 404: notTrusted, 409: conflict },
} as const satisfies RouteDefinition;
