import * as v from 'valibot';
import { instantSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import { idSchema, listQuerySchema, stringBetween, trimmedBetween, type Output } from '../schemas/common.js';
import type { RouteDefinition } from './define.js';

// ---- Inputs ----

export const resourceServerPathSchema = /* @__PURE__ */ v.strictObject({ sub: v.pipe(idSchema, v.description('The resource server\'s `sub` in its JWTs (its client id at the identity provider), and its `client_id` for HTTP Basic.')) });

export const declareResourceServerSchema = v.strictObject({
  name: trimmedBetween(1, 255),
  audience: v.pipe(stringBetween(1, 512), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'), v.description('The audience it serves: tokens registered with an audience are active to it only when that audience includes this one.')),
});

// ---- Answers ----

export const resourceServerSchema = v.object({
  sub: idSchema,
  name: v.string(),
  audience: v.string(),
  secrets: v.pipe(v.array(v.object({ createdAt: instantSchema, expiresAt: nullableInstant })), v.description('Its live client secrets (never their values): the current one (`expiresAt: null`) and any it replaced that still work.')),
  createdAt: instantSchema,
  updatedAt: instantSchema,
});
export const resourceServerPageSchema = /* @__PURE__ */ pageOf(resourceServerSchema);
export const clientSecretSchema = v.object({
  clientId: v.pipe(v.string(), v.description('Its `sub`: the `client_id` of its HTTP Basic credentials.')),
  clientSecret: v.pipe(v.string(), v.description('Shown this once; the service keeps only a keyed hash of it.')),
  createdAt: instantSchema,
  previousSecretsExpireAt: v.pipe(nullableInstant, v.description('When the secrets it replaces stop working (24 hours on), or null when there were none.')),
});

export type ResourceServerView = Output<typeof resourceServerSchema>;

const example = {
  sub: 'orders-api', name: 'Orders API', audience: 'https://orders.example', secrets: [{ createdAt: '2026-11-28T16:00:00.000Z', expiresAt: null }],
  createdAt: '2026-11-01T09:00:00.000Z', updatedAt: '2026-11-28T16:00:00.000Z',
} as const;
const notDeclared = { description: '`not-found`: no such resource server declared in the caller\'s org.', problems: [{ type: 'not-found', detail: 'Resource server orders-api was not found' }] } as const;
const changedTooOften = { description: '`conflict`: changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The resource server was changed concurrently too often; retry the request' }] } as const;

// ---- Routes ----

export const declareResourceServer = {
  method: 'PUT', path: '/v1/resource-servers/{sub}', handler: 'declare-resource-server', scopes: ['apps:manage'], table: 'RW',
  tag: 'resourceServers', summary: 'Declare a resource server and the audience it serves',
  description: 'A declared resource server (matched by the `sub` of its JWT, or the `client_id` of its HTTP Basic credentials) sees a token active only when the token was registered without an audience or with one that includes its own; undeclared callers see every token of their org. 201 declared, 200 replaced (the same declaration again writes nothing). A change reaches every container within 30 seconds. Audited as `resource-server.changed`.',
  input: { path: resourceServerPathSchema, body: { schema: declareResourceServerSchema, media: 'application/json', example: { name: 'Orders API', audience: 'https://orders.example' } } },
  answers: {
    200: { description: 'Replaced (or unchanged).', schema: resourceServerSchema, example },
    201: { description: 'Declared.', schema: resourceServerSchema, example: () => ({ ...example, secrets: [] }) },
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const listResourceServers = {
  method: 'GET', path: '/v1/resource-servers', handler: 'list-resource-servers', scopes: ['usage:read'], table: 'RO',
  tag: 'resourceServers', summary: 'The declared resource servers, by sub',
  input: { query: listQuerySchema },
  answers: { 200: { description: 'A page of resource servers.', schema: resourceServerPageSchema, example: { items: [example], nextCursor: null } } },
} as const satisfies RouteDefinition;

export const getResourceServer = {
  method: 'GET', path: '/v1/resource-servers/{sub}', handler: 'get-resource-server', scopes: ['usage:read'], table: 'RO',
  tag: 'resourceServers', summary: 'One declared resource server',
  input: { path: resourceServerPathSchema },
  answers: { 200: { description: 'The resource server.', schema: resourceServerSchema, example }, 404: notDeclared },
} as const satisfies RouteDefinition;

export const deleteResourceServer = {
  method: 'DELETE', path: '/v1/resource-servers/{sub}', handler: 'delete-resource-server', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW',
  tag: 'resourceServers', summary: 'No longer declare a resource server (its client secrets end with it)',
  description: 'From then on (within 30 seconds in every container) it sees every token of the org again, as an undeclared caller, and its client secrets no longer authenticate. Audited.',
  input: { path: resourceServerPathSchema },
  answers: { 204: { description: 'Deleted.' }, 404: notDeclared },
} as const satisfies RouteDefinition;

export const createClientSecret = {
  method: 'POST', path: '/v1/resource-servers/{sub}/secret', handler: 'create-client-secret', scopes: ['apps:manage'], table: 'RW',
  tag: 'resourceServers', summary: 'A client secret for HTTP Basic authentication at /oauth2/introspect (shown once)',
  description: 'For resource-server libraries that authenticate to an introspection endpoint with `client_secret_basic` (Spring Security\'s opaque-token introspector, Kong\'s OAuth 2.0 Introspection plugin): `client_id` is the `sub`, `client_secret` the value answered here, once. Stored as a keyed hash. A new secret replaces the one before after 24 hours, time to roll it out. Audited.',
  input: { path: resourceServerPathSchema },
  answers: {
    201: {
      description: 'The new secret.', schema: clientSecretSchema,
      example: { clientId: 'orders-api', clientSecret: 'ous_YWNtZQ.3q2-7wWzYx0rAp1F4rL5h2mK8nQ9sT6uV0wX1yZ2aB3', createdAt: '2026-11-28T16:00:00.000Z', previousSecretsExpireAt: null },
    },
    404: notDeclared,
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const revokeClientSecrets = {
  method: 'DELETE', path: '/v1/resource-servers/{sub}/secret', handler: 'revoke-client-secrets', scopes: ['apps:manage'], budget: 'unlimited', table: 'RW',
  tag: 'resourceServers', summary: 'End every client secret of a resource server now (a leaked secret), overlap included',
  description: 'The declaration stays (its audience still applies to its bearer JWTs); none of its secrets authenticates from then on (within 30 seconds in every container). Make a new one with `POST …/secret`. Audited.',
  input: { path: resourceServerPathSchema },
  answers: { 204: { description: 'Its secrets ended (also when it had none).' }, 404: notDeclared, 409: changedTooOften },
} as const satisfies RouteDefinition;
