/**
 * The API's OpenAPI 3.1 document, built from the route definitions (shared/api/), their valibot
 * schemas (through @valibot/to-json-schema) and the registries. Build-time only: no function
 * bundles this; `npm run openapi` writes it to docs/openapi.json.
 */
import { toJsonSchema, type ConversionConfig, type JsonSchema } from '@valibot/to-json-schema';
import { instantSchema } from '../../shared/schemas/answers.js';
import { appDetailSchema, appSummarySchema, approvedUserSchema, policiesViewSchema } from '../../shared/api/apps.js';
import { auditEventSchema, auditExportSchema } from '../../shared/api/audit.js';
import { dryRunSchema, jobSchema } from '../../shared/api/revocations.js';
import { introspectionSchema, registrationSchema } from '../../shared/api/tokens.js';
import { tokenSchema, usageSchema, userAppSchema } from '../../shared/api/usage.js';
import type * as v from 'valibot';
import {
  budgetOf, errorFormatOf, isProblemAnswer, responseHeaders, tags, type ProblemAnswer, type RouteDefinition, type SuccessAnswer,
} from '../../shared/api/define.js';
import { SUPPORTED_EDITIONS } from '../../shared/editions.js';
import { AppError, oauthErrorCodes } from '../../shared/errors.js';
import { MAX_BODY_BYTES } from '../../shared/http.js';
import { problemTypeDocs, problemTypes, problemUri, type ProblemType } from '../../shared/registries.js';
import { orderedRoutes } from '../../shared/routes.js';
import { clientSecretSchema, declareResourceServerSchema, resourceServerSchema } from '../../shared/api/resource-servers.js';
import { issuerSchema, trustIssuerSchema } from '../../shared/api/issuers.js';
import { offboardingDryRunSchema, orgUserSchema } from '../../shared/api/users.js';
import { createAppSchema, updateSettingsSchema } from '../../shared/schemas/apps.js';
import { policiesSchema } from '../../shared/schemas/policies.js';
import { idSchema, jobIdSchema, tokenIdSchema } from '../../shared/schemas/common.js';
import { revocationRequestSchema } from '../../shared/schemas/revocations.js';
import { registerGrantSchema, registerTokenSchema } from '../../shared/schemas/registration.js';
import { oauthTokenFormSchema } from '../../shared/schemas/tokens.js';
import { auditExportRequestSchema } from '../../shared/schemas/usage.js';

type Json = Record<string, unknown>;

/** Schemas shown once under `components.schemas` and referred to by name wherever they occur. */
const named: Record<string, v.GenericSchema> = {
  Id: idSchema, TokenId: tokenIdSchema, JobId: jobIdSchema, Timestamp: instantSchema, Policies: policiesSchema, AppPolicies: policiesViewSchema,
  NewApp: createAppSchema, SettingsChange: updateSettingsSchema, App: appDetailSchema, AppSummary: appSummarySchema,
  Usage: usageSchema, UserApp: userAppSchema, TokenRegistration: registerTokenSchema, GrantRegistration: registerGrantSchema, RegisteredToken: registrationSchema,
  Token: tokenSchema, TokenForm: oauthTokenFormSchema, Introspection: introspectionSchema, AuditEvent: auditEventSchema, AuditExportRequest: auditExportRequestSchema, AuditExport: auditExportSchema,
  RevocationRequest: revocationRequestSchema, RevocationJob: jobSchema, DryRun: dryRunSchema,
  ResourceServer: resourceServerSchema, ResourceServerDeclaration: declareResourceServerSchema, ClientSecret: clientSecretSchema, ApprovedUser: approvedUserSchema,
  Issuer: issuerSchema, IssuerTrust: trustIssuerSchema, OrgUser: orgUserSchema, OffboardingDryRun: offboardingDryRunSchema,
};

const conversion: ConversionConfig = {
  target: 'draft-2020-12',
  // What a client sends: a schema stops at its first transformation (a parsed number, a trimmed string).
  typeMode: 'input',
  definitions: named,
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  // `v.required(…)` (an answer's every field present): each field as its own schema says. Converted
  // without the named definitions, which toJsonSchema would convert again (and this field with them).
  overrideSchema: ({ valibotSchema, jsonSchema: converted }) => {
    if (valibotSchema.type === 'non_optional') return strip(toJsonSchema(unwrapped(valibotSchema), { ...conversion, definitions: {} }));
    // `eitherBy` (shared/schemas/common.ts): a lazy schema that says which two it picks from.
    const oneOf = (valibotSchema as { oneOf?: readonly v.GenericSchema[] }).oneOf;
    if (valibotSchema.type === 'lazy' && oneOf) return { oneOf: oneOf.map((option) => strip(toJsonSchema(option, conversion))) };
    return describedField(valibotSchema, converted);
  },
  // `documentedAs` (shared/schemas/common.ts): the schema so far is replaced by what it says;
  // `documentedWith`: its keywords are added to it.
  overrideAction: ({ valibotAction, jsonSchema: sofar }) => {
    const metadata = (valibotAction as { metadata?: { openapi?: JsonSchema; openapiWith?: JsonSchema } }).metadata;
    if (metadata?.openapi) return metadata.openapi;
    if (!metadata?.openapiWith) return undefined;
    const { openapiWith: _, ...rest } = sofar as Json;
    return { ...rest, ...metadata.openapiWith };
  },
  // Checks and transformations a JSON Schema cannot say; their meaning is in the field's description.
  ignoreActions: ['check', 'trim', 'to_upper_case', 'transform', 'forward'],
  errorMode: 'throw',
};

type Piped = v.GenericSchema & { pipe?: readonly (v.GenericSchema | { type: string; description?: string })[] };
const flat = (schema: Piped): { type: string; description?: string }[] =>
  (schema.pipe ?? []).flatMap((item) => ('pipe' in item && Array.isArray(item.pipe) ? flat(item as Piped) : [item as { type: string; description?: string }]));

/**
 * An optional field whose schema is a named one or a pipe with a description: the reference to
 * the named schema, and the description even when it follows a transformation (where conversion
 * of what a client sends stops), so `v.pipe(timestampSchema, v.description(…))` reads as the
 * Timestamp with its own words.
 */
function describedField(schema: v.GenericSchema, converted: JsonSchema): JsonSchema | undefined {
  if (!['optional', 'nullable', 'nullish', 'exact_optional'].includes(schema.type)) return undefined;
  const inner = (schema as unknown as { wrapped: Piped }).wrapped;
  if (Object.values(named).includes(inner)) return undefined; // already a reference, with its own words
  const description = flat(inner).filter((item) => item.type === 'description').at(-1)?.description;
  const head = inner.pipe?.[0];
  const name = Object.entries(named).find(([, s]) => s === head)?.[0];
  if (!description && !name) return undefined;
  const { description: _, ...rest } = converted as Json;
  const base = name && schema.type !== 'nullable' && schema.type !== 'nullish' ? { $ref: `#/components/schemas/${name}`, ...('default' in rest ? { default: rest.default } : {}) } : rest;
  return { ...base, ...(description ? { description } : {}) };
}

function unwrapped(schema: v.GenericSchema): v.GenericSchema {
  const wrapped = (schema as { wrapped?: v.GenericSchema }).wrapped;
  return wrapped && ['non_optional', 'optional'].includes(schema.type) ? unwrapped(wrapped) : schema;
}

/** A converted schema without the envelope: the document holds the definitions itself. */
function strip(converted: JsonSchema): Json {
  const { $schema: _, $defs: __, ...rest } = converted as Json;
  return rest;
}

const jsonSchema = (schema: v.GenericSchema): Json => strip(toJsonSchema(schema, conversion));

/** The named schemas themselves: each converted with every other name still a reference. */
function componentSchemas(): Json {
  const own = Object.fromEntries(Object.entries(named).map(([name, schema]) => {
    const { [name]: _, ...others } = named;
    return [name, strip(toJsonSchema(schema, { ...conversion, definitions: others }))];
  }));
  return { ...own, ...documentOnlySchemas };
}

const gatewayMessages = ['Unauthorized', 'Too Many Requests', 'Request Entity Too Large', 'Internal Server Error'];

/** Shapes no function parses or builds through a schema: the error bodies, and API Gateway's own answers. */
const documentOnlySchemas = {
  Problem: {
    type: 'object', required: ['type', 'title', 'status', 'detail'],
    description: 'An RFC 9457 problem. The table in the API description says what each `type` means and what to do.',
    properties: {
      type: { type: 'string', enum: (Object.keys(problemTypes) as ProblemType[]).map(problemUri) },
      title: { type: 'string', description: 'Short and the same for every problem of this type.' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string', description: 'What went wrong with this request.' },
      errors: {
        type: 'array', description: 'Each field at fault (validation-error).',
        items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string', examples: ['body.appId'] }, message: { type: 'string' } } },
      },
    },
  },
  OAuthError: {
    type: 'object', required: ['error'], description: 'RFC 6749 §5.2 error JSON.',
    properties: { error: { type: 'string', enum: [...oauthErrorCodes] }, error_description: { type: 'string' } },
  },
  GatewayMessage: {
    type: 'object', required: ['message'], additionalProperties: false,
    description: 'API Gateway\'s own answer (no function ran): `Unauthorized`, `Too Many Requests`, `Request Entity Too Large` (over its 10 MB limit) or `Internal Server Error`.',
    properties: { message: { type: 'string', enum: gatewayMessages } },
  },
};

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
const problemExample = (type: ProblemType, detail: string) => ({ type: problemUri(type), title: problemTypes[type].title, status: problemTypes[type].status, detail });
/**
 * A problem+json body of the given types only (all of one status), so that the response check
 * refuses a type an operation does not document under that status, or a body whose status differs.
 */
function problemSchema(types: readonly ProblemType[]): Json {
  const statuses = new Set(types.map((type) => problemTypes[type].status));
  if (statuses.size !== 1) throw new Error(`Problem types of different statuses answered together: ${types.join(', ')}`);
  return { allOf: [ref('schemas', 'Problem')], properties: { type: { enum: types.map(problemUri) }, status: { const: [...statuses][0] } } };
}
const problemContent = (example: { type: string } & Json, also: readonly ProblemType[] = []) => {
  const type = example.type.replace(problemUri('' as ProblemType), '') as ProblemType;
  return { 'application/problem+json': { schema: problemSchema([type, ...also]), example } };
};
const gateway = (message: string) => ({ 'application/json': { schema: ref('schemas', 'GatewayMessage'), example: { message } } });
const oauth = (error: string, description: string, also?: Json) => ({
  'application/json': { schema: also ? { oneOf: [ref('schemas', 'OAuthError'), also] } : ref('schemas', 'OAuthError'), example: { error, error_description: description } },
});

const rateLimitHeaders = { 'Retry-After': ref('headers', 'Retry-After'), 'RateLimit-Policy': ref('headers', 'RateLimit-Policy'), RateLimit: ref('headers', 'RateLimit') };

/** The answers every route may give, by what it is (problem+json or RFC 6749 errors). */
const standardResponses = {
  BadRequest: {
    description: '`validation-error`: a field, parameter or header is invalid; `errors[].path` names it.',
    content: problemContent({ ...problemExample('validation-error', 'body.name: is required'), errors: [{ path: 'body.name', message: 'is required' }] }),
  },
  Unauthorized: {
    description: 'No valid bearer token. API Gateway answers `{"message":"Unauthorized"}` itself; a valid token without a usable `sub` or `org_id` gets problem type `unauthorized`.',
    headers: { 'WWW-Authenticate': ref('headers', 'WWW-Authenticate') },
    content: { ...gateway('Unauthorized'), ...problemContent(problemExample('unauthorized', 'The token has no valid sub or org_id claim')) },
  },
  Forbidden: {
    description: '`insufficient-scope` (the `WWW-Authenticate` header names the scopes) or `edition-not-supported`.',
    headers: { 'WWW-Authenticate': { description: 'On insufficient-scope: `Bearer error="insufficient_scope", scope="…"`.', schema: { type: 'string' } } },
    content: problemContent(problemExample('insufficient-scope', 'This operation requires the scope apps:manage'), ['edition-not-supported']),
  },
  NotFound: {
    description: '`not-found`: no such route (any path, answered by the catch-all route).',
    content: problemContent(problemExample('not-found', 'Route GET /v1/nowhere was not found')),
  },
  MethodNotAllowed: {
    description: '`method-not-allowed`: the path exists under other methods (any path, answered by the catch-all route).',
    headers: { Allow: ref('headers', 'Allow') },
    content: problemContent(problemExample('method-not-allowed', 'Allowed methods: GET, POST')),
  },
  PayloadTooLarge: {
    description: '`payload-too-large`: the body is over 64 KiB (any operation; one that takes no body refuses a large one too). Over 10 MB, API Gateway answers `{"message":"Request Entity Too Large"}` itself.',
    content: { ...problemContent(problemExample('payload-too-large', `The request body exceeds ${MAX_BODY_BYTES} bytes`)), ...gateway('Request Entity Too Large') },
  },
  PreconditionFailed: {
    description: '`precondition-failed`: `If-Match` is stale.',
    content: problemContent(problemExample('precondition-failed', 'The resource has changed since it was read (If-Match does not match its ETag)')),
  },
  IdempotencyKeyReused: {
    description: '`idempotency-key-reused`: the key was used with another body.',
    content: problemContent(problemExample('idempotency-key-reused', 'This Idempotency-Key was used for a different request')),
  },
  Throttled: { description: 'API Gateway\'s stage throttling.', content: gateway('Too Many Requests') },
  RateLimited: {
    description: '`rate-limited`: the org is over the request budget this call spends (contract section 10), with `Retry-After` and the RateLimit header fields; or API Gateway\'s stage throttling.',
    headers: rateLimitHeaders,
    content: { ...problemContent(problemExample('rate-limited', 'The org is over its admin budget of 20 requests a second; retry after 1 s')), ...gateway('Too Many Requests') },
  },
  InternalError: {
    description: 'An unexpected failure (problem type `internal-error`); API Gateway answers `{"message":"Internal Server Error"}` when the function itself failed.',
    content: { ...problemContent(problemExample('internal-error', 'An unexpected error occurred')), ...gateway('Internal Server Error') },
  },
  OAuthBadRequest: { description: '`invalid_request`: the form is invalid (e.g. no `token`).', content: oauth('invalid_request', 'body.token: is required') },
  OAuthUnauthorized: {
    description: 'No valid credentials: API Gateway\'s `{"message":"Unauthorized"}`, or `invalid_token` for a valid token without a usable `sub` or `org_id`. At `/oauth2/introspect`, which verifies its callers itself: `invalid_token` for a missing or bad bearer JWT (`WWW-Authenticate: Bearer` / `Bearer error="invalid_token"`), `invalid_client` with a `Basic` challenge for wrong client credentials.',
    headers: { 'WWW-Authenticate': ref('headers', 'WWW-Authenticate') },
    content: { 'application/json': { schema: { oneOf: [ref('schemas', 'GatewayMessage'), ref('schemas', 'OAuthError')] }, example: { message: 'Unauthorized' } } },
  },
  OAuthForbidden: {
    description: '`insufficient_scope`: the token lacks the scope, or the org\'s edition is not served.',
    headers: { 'WWW-Authenticate': { description: 'On a missing scope: `Bearer error="insufficient_scope", scope="…"`.', schema: { type: 'string' } } },
    content: oauth('insufficient_scope', 'This operation requires the scope tokens:introspect'),
  },
  OAuthPayloadTooLarge: {
    description: '`invalid_request`: the form is over 64 KiB (over 10 MB, API Gateway\'s `{"message":"Request Entity Too Large"}`).',
    content: oauth('invalid_request', `The request body exceeds ${MAX_BODY_BYTES} bytes`, ref('schemas', 'GatewayMessage')),
  },
  OAuthRateLimited: {
    description: '`temporarily_unavailable`: the org is over the request budget this call spends (contract section 10), with `Retry-After` and the RateLimit header fields; or API Gateway\'s stage throttling.',
    headers: rateLimitHeaders,
    content: oauth('temporarily_unavailable', 'The org is over its introspect budget of 500 requests a second; retry after 1 s', ref('schemas', 'GatewayMessage')),
  },
  OAuthInternalError: {
    description: '`server_error`, or API Gateway\'s `{"message":"Internal Server Error"}` when the function itself failed.',
    content: oauth('server_error', 'An unexpected error occurred', ref('schemas', 'GatewayMessage')),
  },
};

const headerComponents = {
  'WWW-Authenticate': { description: 'The challenge: `Bearer` (RFC 6750 §3), `Bearer error="invalid_token"`, or at /oauth2/introspect `Basic realm=…` for wrong client credentials.', required: true, schema: { type: 'string' }, examples: { missing: { value: 'Bearer' }, invalid: { value: 'Bearer error="invalid_token"' } } },
  Allow: { description: 'The methods the path answers.', required: true, schema: { type: 'string' } },
  ...Object.fromEntries(Object.entries(responseHeaders).map(([name, description]) => [
    name, name === 'Retry-After'
      // On the service's own 429s (`too-many-requests`, `rate-limited`); the stage's throttling gives none.
      ? { description: `${description} Always on \`too-many-requests\` and \`rate-limited\`.`, schema: { type: 'integer', minimum: 1 } }
      : name.startsWith('RateLimit')
        ? { description: `${description} Always on \`rate-limited\`.`, schema: { type: 'string' } }
        : { description, required: true, schema: { type: 'string' } },
  ])),
};

/** `if-match` → `If-Match`: headers as the document names them. */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => `${dash}${c.toUpperCase()}`);

function parameters(route: RouteDefinition): Json[] {
  const from = (schema: v.GenericSchema | undefined, where: 'path' | 'query' | 'header') => {
    const entries = (schema as { entries?: Record<string, v.GenericSchema> } | undefined)?.entries ?? {};
    return Object.entries(entries).map(([name, entry]) => {
      const { description, ...schemaOf } = jsonSchema(entry);
      // A query string's default is given as the text it parses (`'50'`); the document shows the number.
      if (schemaOf.type === 'integer' && typeof schemaOf.default === 'string') schemaOf.default = Number(schemaOf.default);
      const optional = ['optional', 'exact_optional', 'nullish'].includes(entry.type);
      return {
        name: where === 'header' ? headerName(name) : name, in: where,
        ...(optional ? {} : { required: true }),
        ...(typeof description === 'string' ? { description } : {}),
        schema: schemaOf,
      };
    });
  };
  return [...from(route.input?.path, 'path'), ...from(route.input?.query, 'query'), ...from(route.input?.headers, 'header')];
}

/** An example as a definition gives it: the value, or a function that makes it. */
const exampleOf = (example: unknown): unknown => (typeof example === 'function' ? (example as () => unknown)() : example);

function successResponse(answer: SuccessAnswer): Json {
  const headers = answer.headers?.length ? { headers: Object.fromEntries(answer.headers.map((h) => [h, ref('headers', h)])) } : {};
  if (!answer.schema) return { description: answer.description, ...headers };
  const examples = answer.examples ? { examples: answer.examples } : { example: exampleOf(answer.example) };
  return { description: answer.description, ...headers, content: { 'application/json': { schema: jsonSchema(answer.schema), ...examples } } };
}

/** An error answer particular to a route. Under 429 the stage's throttling may answer too, in API Gateway's words. */
function problemResponse(status: number, answer: ProblemAnswer, format: 'problem' | 'oauth'): Json {
  const wrong = answer.problems.filter((p) => problemTypes[p.type].status !== status).map((p) => p.type);
  if (wrong.length) throw new Error(`${wrong.join(', ')} answered under ${status}: the registry gives another status`);
  const headers = answer.headers?.length ? { headers: Object.fromEntries(answer.headers.map((h) => [h, ref('headers', h)])) } : {};
  if (format === 'oauth') {
    // The /oauth2 endpoints answer the RFC 6749 error each problem type maps to (shared/errors.ts).
    const [p, ...more] = answer.problems;
    if (more.length) throw new Error(`${answer.description}: an /oauth2 answer carries one RFC 6749 error; give each its own status`);
    return { description: answer.description, ...headers, content: oauth(new AppError(p!.type, p!.detail).oauthError, p!.detail) };
  }
  const [first, ...more] = answer.problems.map((p) => problemExample(p.type, p.detail));
  const examples = more.length === 0 ? { example: first } : { examples: Object.fromEntries(answer.problems.map((p, i) => [p.type, { value: [first, ...more][i] }])) };
  const content = { 'application/problem+json': { schema: problemSchema(answer.problems.map((p) => p.type)), ...examples }, ...(status === 429 ? gateway('Too Many Requests') : {}) };
  return { description: answer.description, ...headers, content };
}

/**
 * The standard answers a route gives, by what it is: they follow from its scopes, inputs and table
 * access; an `If-Match` header brings 412, an `Idempotency-Key` header 422.
 */
function standardAnswers(route: RouteDefinition): Record<string, Json> {
  const o = errorFormatOf(route) === 'oauth' ? 'OAuth' : '';
  const hasInput = Object.values(route.input ?? {}).some(Boolean);
  const header = (name: string) => name in ((route.input?.headers as { entries?: object } | undefined)?.entries ?? {});
  return {
    ...(hasInput ? { 400: ref('responses', `${o}BadRequest`) } : {}),
    ...(route.public ? {} : { 401: ref('responses', `${o}Unauthorized`) }),
    ...(route.scopes ? { 403: ref('responses', `${o}Forbidden`) } : {}),
    ...(header('if-match') ? { 412: ref('responses', 'PreconditionFailed') } : {}),
    413: ref('responses', `${o}PayloadTooLarge`),
    ...(header('idempotency-key') ? { 422: ref('responses', 'IdempotencyKeyReused') } : {}),
    429: ref('responses', budgetOf(route) ? `${o}RateLimited` : 'Throttled'),
    ...(route.table === 'none' ? {} : { 500: ref('responses', `${o}InternalError`) }),
  };
}

function operation(name: string, route: RouteDefinition): Json {
  const own429 = (route.answers as Record<number, SuccessAnswer | ProblemAnswer | undefined>)[429];
  if (budgetOf(route) && own429 && !(isProblemAnswer(own429) && own429.problems.some((p) => p.type === 'rate-limited'))) {
    throw new Error(`${name} spends a request budget: its own 429 would hide rate-limited; give both in one answer`);
  }
  const own = Object.fromEntries(Object.entries(route.answers).map(([status, answer]) => [status, isProblemAnswer(answer) ? problemResponse(Number(status), answer, errorFormatOf(route)) : successResponse(answer)]));
  const responses = Object.fromEntries(Object.entries({ ...standardAnswers(route), ...own }).sort(([a], [b]) => Number(a) - Number(b)));
  const params = parameters(route);
  const body = route.input?.body;
  return {
    operationId: name,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: route.scopes ? [...route.scopes.map((scope) => ({ bearer: [scope] })), ...(route.authenticate ? [{ clientSecretBasic: [] }] : [])] : [],
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: { required: !body.optional, content: { [body.media]: { schema: jsonSchema(body.schema), ...(body.examples ? { examples: body.examples } : { example: exampleOf(body.example) }) } } } } : {}),
    responses,
  };
}

function paths(): Json {
  const out: Record<string, Json> = {};
  for (const [name, route] of orderedRoutes()) {
    out[route.path] = { ...out[route.path], [route.method.toLowerCase()]: operation(name, route) };
  }
  return out;
}

const problemTable = () => [
  '| `type` (after `urn:oauth-usage:problem:`) | status | meaning | what the client should do |',
  '|---|---|---|---|',
  ...(Object.keys(problemTypes) as ProblemType[]).map((type) => `| \`${type}\` | ${problemTypes[type].status} | ${problemTypeDocs[type].when} | ${problemTypeDocs[type].action} |`),
].join('\n');

const editions = `${SUPPORTED_EDITIONS.slice(0, -1).join(', ')} or ${SUPPORTED_EDITIONS.at(-1)}`;

export function buildDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'OAuth Usage service',
      version: '0.3.0',
      summary: 'Which external client apps hold live OAuth tokens, who uses them, and revocation that takes effect at once.',
      description: [
        'The public API of the OAuth Usage service: which external client apps (OAuth clients) of an org hold live access and refresh tokens, who uses each app, and revocation that takes effect when the call returns.',
        `**Authentication.** Every operation except \`GET /health\` and \`GET /openapi.json\` needs \`Authorization: Bearer <JWT>\` from the org's identity provider (RS256; \`iss\`, \`aud\`, \`exp\` required, \`nbf\` checked, 60 s of clock tolerance). The claims used are \`sub\`, \`org_id\` (every read and write is confined to that org), \`org_edition\` (${editions}) and \`scope\`. A missing or invalid token is answered by the API gateway itself: \`401\` with \`{"message":"Unauthorized"}\` and \`WWW-Authenticate\`; its stage throttling answers \`429\` with \`{"message":"Too Many Requests"}\`. The local server (\`npm start\`) gives the same answers.`,
        '**Errors.** Every other error of `/v1` is `application/problem+json` (RFC 9457). Its `type` is one of the URIs below; `errors[].path` names the field at fault (`body.appId`, `query.limit`, `path.tokenId`, `headers.if-match`). The `/oauth2` endpoints answer RFC 6749 error JSON (`error`, `error_description`) instead.',
        problemTable(),
        '**Lists** answer `{ "items": [...], "nextCursor": string | null }`; `limit` is 1–100 (default 50) and `cursor` is opaque, bound to the org, the list and its filters. **Timestamps** are UTC with milliseconds (`2026-11-28T16:30:00.000Z`); input may carry any RFC 3339 offset.',
      ].join('\n\n'),
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'npm start (the local server)' },
      { url: 'https://{apiId}.execute-api.{region}.amazonaws.com', description: 'Deployed (npx cdk deploy prints the URL)', variables: { apiId: { default: 'abc123' }, region: { default: 'eu-west-1' } } },
    ],
    security: [{ bearer: [] }],
    tags: Object.entries(tags).map(([name, tag]) => ({ name, description: tag.description })),
    components: {
      securitySchemes: {
        clientSecretBasic: {
          type: 'http', scheme: 'basic',
          description: 'At `/oauth2/introspect` only: a declared resource server\'s client id (its `sub`) and client secret (`POST /v1/resource-servers/{sub}/secret`), form-encoded then Basic (RFC 6749 §2.3.1); an id sent without the form-encoding is taken too.\n',
        },
        bearer: {
          type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
          description: `A JWT from the org's identity provider (RS256, checked against its JWKS; iss, aud, exp, nbf).\nClaims used: sub, org_id, org_edition (${editions}), scope.\n`,
        },
      },
      headers: headerComponents,
      schemas: componentSchemas(),
      responses: standardResponses,
    },
    paths: paths(),
  };
}

export { problemTable };
