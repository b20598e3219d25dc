/**
 * The API's vocabularies, each listed once: problem types, audit actions and scopes. The
 * TypeScript unions below, the enums of docs/openapi.json and the tables of docs/api.md all
 * derive from these lists (`npm run openapi`). Editions are in editions.ts, which the console
 * imports too.
 */

/**
 * RFC 9457 problem types, after `urn:oauth-usage:problem:`: the status and title every answer of
 * the type carries. What each means for a client is beside it, in `problemTypeDocs`: the same
 * list, kept apart only so that no function bundles the prose (the compiler checks both name the
 * same types).
 */
export const problemTypes = {
  'validation-error': { status: 400, title: 'Invalid request' },
  'scope-not-allowed': { status: 400, title: 'Scope not allowed' },
  'issuer-not-trusted': { status: 400, title: 'Issuer not trusted' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  'insufficient-scope': { status: 403, title: 'Insufficient scope' },
  'edition-not-supported': { status: 403, title: 'Edition not supported' },
  'user-not-approved': { status: 403, title: 'User not approved' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'token-revoked': { status: 409, title: 'Token revoked' },
  'app-blocked': { status: 409, title: 'App blocked' },
  'user-blocked': { status: 409, title: 'User blocked' },
  'parent-token-inactive': { status: 409, title: 'Parent token inactive' },
  'refresh-token-reused': { status: 409, title: 'Refresh token reused' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'rate-limited': { status: 429, title: 'Rate limited' },
  'internal-error': { status: 500, title: 'Internal server error' },
  'temporarily-unavailable': { status: 503, title: 'Temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof problemTypes;

/** When each problem type happens and what the client should do (docs/api.md's table). */
export const problemTypeDocs = {
  'validation-error': {
    when: 'A field, parameter or header (named in `errors[].path`) is missing, malformed, out of range or not allowed; or the body is not well-formed JSON, or has the wrong `Content-Type`.',
    action: 'Fix the named fields. Sending the same request again fails again.',
  },
  'scope-not-allowed': {
    when: 'A token\'s scope (named in `errors[].path`) is not among the scopes the app declares (it declares some).',
    action: 'Issue the token without that scope, or add the scope to the app\'s settings.',
  },
  'issuer-not-trusted': {
    when: 'A token registered by its id (`issuer` and `jti`, no `token`) names an issuer the org does not trust.',
    action: 'Trust the issuer first (`PUT /v1/issuers/{issuerId}`), or register the token by its value.',
  },
  unauthorized: {
    when: 'The token is valid but names no usable `sub` or `org_id`.',
    action: 'Get a token from the org\'s identity provider that carries both.',
  },
  'insufficient-scope': {
    when: 'The token lacks the operation\'s scope (named in `WWW-Authenticate`).',
    action: 'Get a token with that scope.',
  },
  'edition-not-supported': {
    when: 'The org\'s `org_edition` is not one the product serves.',
    action: 'Nothing to retry: the org needs a supported edition.',
  },
  'user-not-approved': {
    when: 'The app\'s `permittedUsers` policy is `admin-approved-pre-authorized` and the user is not among its approved users.',
    action: 'Answer the client `invalid_grant` (RFC 6749 §5.2; do not hand out the tokens); an admin approves the user (`PUT /v1/apps/{appId}/approved-users/{userId}`).',
  },
  'not-found': {
    when: 'No such app, user, token or job in the caller\'s org (another org\'s look the same), or no such route.',
    action: 'Check the id.',
  },
  'method-not-allowed': {
    when: 'The path exists, but not with this method; `Allow` lists the methods.',
    action: 'Use one of the allowed methods.',
  },
  conflict: {
    when: 'The request conflicts with the current state: the `appId` exists, the raw token is registered for another app, user or type, the job already started; or the item was changed concurrently too often.',
    action: 'Read the current state. For "changed concurrently", retry with backoff (with the same `Idempotency-Key`).',
  },
  'token-revoked': {
    when: 'This raw token was revoked (by any path, RFC 7009 before it was registered included) and stays revoked for as long as it could be presented.',
    action: 'Never retry: issue a new token.',
  },
  'app-blocked': {
    when: 'The app is blocked (`POST /v1/apps/{appId}/block`): it takes no new tokens until an admin unblocks it.',
    action: 'Answer the client `invalid_grant` (`unauthorized_client` for a client-credentials request); do not hand out the tokens.',
  },
  'user-blocked': {
    when: 'The user is denied new tokens in every app of the org (`POST /v1/users/{userId}/block`) until an admin unblocks them.',
    action: 'Answer the client `invalid_grant`; do not hand out the tokens.',
  },
  'parent-token-inactive': {
    when: 'The refresh token named as an access token\'s parent or a refresh token\'s predecessor (the field in `errors[].path`) is not an active refresh token of the same app and user: unknown, revoked, rotated out, expired, another user\'s or app\'s, or not in its one spelling; or a revocation committed first.',
    action: 'Answer the client `invalid_grant`; do not hand out the tokens.',
  },
  'refresh-token-reused': {
    when: 'The predecessor named (in `errors[].path`) was rotated out already and is presented again (RFC 9700 §4.14.2): the service revoked its whole grant.',
    action: 'Answer the client `invalid_grant` and end the grant at the authorization server too.',
  },
  'precondition-failed': {
    when: '`If-Match` does not match the app\'s current `ETag`.',
    action: '`GET` the app, reapply the change, send it with the new `ETag`.',
  },
  'payload-too-large': {
    when: 'The body is over 64 KiB.',
    action: 'Send less (Bulk Revoke takes at most 1,000 users per call).',
  },
  'idempotency-key-reused': {
    when: 'This `Idempotency-Key` was used with a different request.',
    action: 'Use a new key for a new request.',
  },
  'rate-limited': {
    when: 'The org is over its request budget for this kind of call (introspection, registration or the admin calls; revocations are never limited). `RateLimit-Policy` names the budget and its size, `RateLimit` what is left.',
    action: 'Wait `Retry-After` seconds; ask the operator for a larger budget if the org needs it (docs/operations.md).',
  },
  'too-many-requests': {
    when: 'A per-org limit: 1,000 scheduled revocations per org, or 25 queued or running revocations per app.',
    action: 'Wait `Retry-After` seconds, or cancel scheduled jobs you no longer need.',
  },
  'internal-error': {
    when: 'An unexpected failure; nothing about the request is revealed.',
    action: 'Retry with backoff; report the time and the response\'s request id if it persists.',
  },
  'temporarily-unavailable': {
    when: 'Something the service depends on could not be reached: at `/oauth2/introspect`, the identity provider\'s keys, needed to verify a bearer JWT (HTTP Basic callers are not affected).',
    action: 'Retry with backoff (`Retry-After`); it is not the caller\'s credentials that failed.',
  },
} as const satisfies Record<ProblemType, { when: string; action: string }>;

/** A problem type's URI, as problem+json carries it. */
export const problemUri = (type: ProblemType) => `urn:oauth-usage:problem:${type}`;

/** What the audit log records, and when. */
export const auditActions = {
  'app.created': 'An app was created.',
  'app.settings.updated': 'Settings changed (`details.changes`: each field\'s `from` and `to`).',
  'app.policies.updated': 'Policies replaced (`details.from`, `details.to`).',
  'app.blocked': 'The app was blocked: every token revoked (`jobId`: the cleanup) and new ones refused until it is unblocked.',
  'app.unblocked': 'The app was unblocked: it takes new tokens again; what the block revoked stays revoked.',
  'user.blocked': 'The user was denied new tokens in every app (`details.offboarding`: with an offboarding).',
  'user.unblocked': 'The user may be issued tokens again; tokens of trusted issuers issued while they were blocked stay inactive.',
  'user.personal-data.erased': 'An erasure job ended: the user\'s name is blanked everywhere the service held it (`details.requestedBy`: who asked; `details.rowsErased`: the apps whose usage row held it).',
  'token.revoked': 'One token was revoked (by id, or RFC 7009 by value; a refresh token with its grant), or a raw value not registered yet (RFC 7009).',
  'grant.revoked': 'A rotated-out refresh token was presented again: its whole grant was revoked (RFC 9700 §4.14.2).',
  'revocation.requested': 'A revocation job was asked for (a user, selected users, or every token of the app).',
  'revocation.completed': 'A revocation job\'s cleanup ended (`details`: what it revoked and repaired).',
  'revocation.cancelled': 'A scheduled revocation job was cancelled.',
  'app.approved-users.changed': 'A user was approved for the app\'s `admin-approved-pre-authorized` policy, or no longer is (`details.approved`).',
  'resource-server.changed': 'A resource server was declared, replaced or deleted, or given a new client secret (`details.change`).',
  'issuer.changed': 'A JWT issuer was trusted, replaced or no longer trusted (`details.change`).',
  'audit.exported': 'An export of the audit log was asked for (`details`: the export\'s id, format and filters).',
  'policy.enforced': 'The sweep (or a policy pass) removed a user\'s tokens a policy rules out: the refresh-token policy, or the session timeout (idle tokens); written in the transaction that removes them.',
} as const satisfies Record<string, string>;

export type AuditAction = keyof typeof auditActions;

/** Who an audit event's actor is: a person with a token, an authorization server (a client, RFC 7009), or the service itself (sweep, worker). */
export const actorKinds = ['user', 'client', 'system'] as const;
export type ActorKind = (typeof actorKinds)[number];

/** The scopes a caller's JWT may hold, and who holds them. */
export const scopes = {
  'usage:read': 'Org admins: read apps, usage, tokens, jobs and the audit log.',
  'apps:manage': 'Org admins: create apps, change settings and policies, revoke.',
  'tokens:write': 'The authorization server: register issued tokens, revoke them (RFC 7009).',
  'tokens:introspect': 'Resource servers: introspect tokens (RFC 7662).',
} as const satisfies Record<string, string>;

export type Scope = keyof typeof scopes;

/** The per-org request budgets (contract section 10): each route spends one, or is never limited (every revocation). */
export const requestBudgets = ['introspect', 'register', 'admin'] as const;
export type RequestBudget = (typeof requestBudgets)[number];
/** Each budget's default per org and second, and the variable that sets another (the README's Configuration). */
export const requestBudgetDefaults: Record<RequestBudget, { variable: string; rps: number }> = {
  introspect: { variable: 'ORG_INTROSPECT_RATE_LIMIT_RPS', rps: 500 },
  register: { variable: 'ORG_REGISTER_RATE_LIMIT_RPS', rps: 100 },
  admin: { variable: 'ORG_ADMIN_RATE_LIMIT_RPS', rps: 20 },
};
