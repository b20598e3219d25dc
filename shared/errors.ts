/**
 * Typed errors. Domain code throws these; `http.ts` maps them to problem+json (or RFC 6749
 * JSON for /oauth2/*) in one place. Anything that is not an AppError is a bug and becomes a
 * bare 500 that reveals nothing.
 */
import { editionList } from './editions.js';
import { problemTypes, type ProblemType } from './registries.js';

export type { ProblemType };

export interface FieldError {
  path: string;
  message: string;
}

/** RFC 6749 §5.2 / RFC 7009 §2.2.1 error codes used by the /oauth2 endpoints (the API document lists these). */
export const oauthErrorCodes = ['invalid_request', 'invalid_client', 'invalid_token', 'insufficient_scope', 'server_error', 'temporarily_unavailable'] as const;
export type OAuthErrorCode = (typeof oauthErrorCodes)[number];

export class AppError extends Error {
  readonly expose: boolean;
  readonly statusCode: number;
  readonly title: string;
  /** Status and title come from the problem type's entry in the registry. */
  constructor(
    readonly type: ProblemType,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = new.target.name;
    this.statusCode = problemTypes[type].status;
    this.title = problemTypes[type].title;
    this.expose = this.statusCode < 500;
  }

  get oauthError(): OAuthErrorCode {
    if (this.type === 'insufficient-scope' || this.type === 'edition-not-supported') return 'insufficient_scope';
    if (this.statusCode === 401) return 'invalid_token';
    if (this.type === 'temporarily-unavailable' || this.type === 'rate-limited') return 'temporarily_unavailable';
    return this.statusCode < 500 ? 'invalid_request' : 'server_error';
  }
}

export class ValidationError extends AppError {
  constructor(errors: FieldError[]) {
    super('validation-error', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  }
  static field(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'A valid bearer token is required') {
    super('unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class InsufficientScopeError extends AppError {
  /** `anyOf`: the scopes of which the operation needs one (RFC 6750 §3: the challenge lists them, space-separated). */
  constructor(anyOf: readonly string[]) {
    super('insufficient-scope', `This operation requires the scope ${anyOf.join(' or ')}`, undefined, {
      'www-authenticate': `Bearer error="insufficient_scope", scope="${anyOf.join(' ')}"`,
    });
  }
}

export class EditionNotSupportedError extends AppError {
  constructor(edition: string | undefined) {
    super('edition-not-supported', `OAuth Usage is available in ${editionList} editions, not ${edition ?? 'an unspecified edition'}`,
    );
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not-found', `${what} was not found`);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(allowed: string[]) {
    super('method-not-allowed', `Allowed methods: ${allowed.join(', ')}`, undefined, {
      allow: allowed.join(', '),
    });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string) {
    super('conflict', detail);
  }
}

/** A retried registration of a raw token that was revoked: it stays revoked. */
export class TokenRevokedError extends AppError {
  constructor(path?: string) {
    super('token-revoked', 'This token was revoked; a revoked token cannot be registered again', path ? [{ path, message: 'was revoked' }] : undefined);
  }
}

/** A registration for a blocked app (POST /v1/apps/{appId}/block). */
export class AppBlockedError extends AppError {
  constructor(appId: string) {
    super('app-blocked', `App ${appId} is blocked: it takes no new tokens until an admin unblocks it`);
  }
}

/** A registration for a user denied new tokens (POST /v1/users/{userId}/block). */
export class UserBlockedError extends AppError {
  constructor(userId: string) {
    super('user-blocked', `User ${userId} is blocked: they get no new tokens in any app until an admin unblocks them`);
  }
}

/** A parent or predecessor that is not an active refresh token of the same app and user (the authorization server answers invalid_grant). */
export class ParentTokenInactiveError extends AppError {
  constructor(path: string, why = 'is not an active refresh token of this app and user') {
    super('parent-token-inactive', `${path} ${why}`, [{ path, message: why }]);
  }
}

/** A rotated-out refresh token named again as a predecessor (RFC 9700 §4.14.2): its grant was revoked. */
export class RefreshTokenReusedError extends AppError {
  constructor(path: string) {
    const why = 'was rotated out already: the refresh token was reused, and its whole grant is revoked';
    super('refresh-token-reused', `${path} ${why}`, [{ path, message: why }]);
  }
}

/** A token registered by its id (`issuer` + `jti`) names an issuer the org does not trust (contract section 9). */
export class IssuerNotTrustedError extends AppError {
  constructor(path: string, issuer: string) {
    super('issuer-not-trusted', `${path} (${issuer}) is not an issuer the org trusts: trust it first (PUT /v1/issuers/{issuerId})`, [{ path, message: 'is not a trusted issuer' }]);
  }
}

export class ScopeNotAllowedError extends AppError {
  constructor(path: string, scope: string) {
    super('scope-not-allowed', `${path} (${scope}) is not among the app's scopes`, [{ path, message: 'is not among the app\'s scopes' }]);
  }
}

export class UserNotApprovedError extends AppError {
  constructor(userId: string) {
    super('user-not-approved', `User ${userId} is not approved for this app (its permittedUsers policy is admin-approved-pre-authorized)`);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(detail = 'The resource has changed since it was read (If-Match does not match its ETag)') {
    super('precondition-failed', detail);
  }
}

/** draft-ietf-httpapi-idempotency-key-header §2.7: a key reused with a different request. */
export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super('idempotency-key-reused', 'This Idempotency-Key was used for a different request');
  }
}

/** A per-org limit that a large customer would not reach but a runaway script would (README, "Limits"). */
export class TooManyRequestsError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super('too-many-requests', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

/**
 * The org is over one of its request budgets (contract section 10), with the IETF httpapi
 * RateLimit header fields: `RateLimit-Policy: "<budget>";q=<per second>;w=1` and
 * `RateLimit: "<budget>";r=<left>;t=<seconds>`. At /oauth2 it is RFC 6749's `temporarily_unavailable`.
 */
export class RateLimitedError extends AppError {
  constructor(budget: string, limit: number, remaining: number, retryAfterSeconds: number) {
    super('rate-limited', `The org is over its ${budget} budget of ${limit} requests a second; retry after ${retryAfterSeconds} s`, undefined, {
      'retry-after': String(retryAfterSeconds), 'ratelimit-policy': `"${budget}";q=${limit};w=1`, ratelimit: `"${budget}";r=${remaining};t=${retryAfterSeconds}`,
    });
  }
}

/** A dependency could not be reached (503, `temporarily_unavailable` at /oauth2): not the caller's fault. */
export class TemporarilyUnavailableError extends AppError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super('temporarily-unavailable', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('payload-too-large', `The request body exceeds ${limitBytes} bytes`);
  }
}
