/**
 * Typed errors. Domain code throws these; `http.ts` maps them to problem+json (or RFC 6749
 * JSON for /oauth2/*) in one place. Anything that is not an AppError is a bug and becomes a
 * bare 500 that reveals nothing.
 */
import { editionList } from './editions.js';

export interface FieldError {
  path: string;
  message: string;
}

export type ProblemType =
  | 'validation-error'
  | 'unauthorized'
  | 'insufficient-scope'
  | 'edition-not-supported'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'token-revoked'
  | 'precondition-failed'
  | 'payload-too-large'
  | 'idempotency-key-reused'
  | 'too-many-requests'
  | 'internal-error';

/** RFC 6749 §5.2 / RFC 7009 §2.2.1 error codes used by the /oauth2 endpoints. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'server_error';

export class AppError extends Error {
  readonly expose: boolean;
  constructor(
    readonly statusCode: number,
    readonly type: ProblemType,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = new.target.name;
    this.expose = statusCode < 500;
  }

  get oauthError(): OAuthErrorCode {
    if (this.type === 'insufficient-scope' || this.type === 'edition-not-supported') return 'insufficient_scope';
    if (this.statusCode === 401) return 'invalid_token';
    return this.statusCode < 500 ? 'invalid_request' : 'server_error';
  }
}

export class ValidationError extends AppError {
  constructor(errors: FieldError[]) {
    super(400, 'validation-error', 'Invalid request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  }
  static field(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'A valid bearer token is required') {
    super(401, 'unauthorized', 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class InsufficientScopeError extends AppError {
  constructor(scope: string) {
    super(403, 'insufficient-scope', 'Insufficient scope', `This operation requires the scope ${scope}`, undefined, {
      'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
    });
  }
}

export class EditionNotSupportedError extends AppError {
  constructor(edition: string | undefined) {
    super(
      403,
      'edition-not-supported',
      'Edition not supported',
      `OAuth Usage is available in ${editionList} editions, not ${edition ?? 'an unspecified edition'}`,
    );
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not-found', 'Not found', `${what} was not found`);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(allowed: string[]) {
    super(405, 'method-not-allowed', 'Method not allowed', `Allowed methods: ${allowed.join(', ')}`, undefined, {
      allow: allowed.join(', '),
    });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}

/** A retried registration of a raw token that was revoked: it stays revoked. */
export class TokenRevokedError extends AppError {
  constructor() {
    super(409, 'token-revoked', 'Token revoked', 'This token was revoked; a revoked token cannot be registered again');
  }
}

export class PreconditionFailedError extends AppError {
  constructor(detail = 'The resource has changed since it was read (If-Match does not match its ETag)') {
    super(412, 'precondition-failed', 'Precondition failed', detail);
  }
}

/** draft-ietf-httpapi-idempotency-key-header §2.7: a key reused with a different request. */
export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super(422, 'idempotency-key-reused', 'Idempotency-Key reused', 'This Idempotency-Key was used for a different request');
  }
}

/** A per-org limit that a large customer would not reach but a runaway script would (README, "Limits"). */
export class TooManyRequestsError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'too-many-requests', 'Too many requests', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super(413, 'payload-too-large', 'Payload too large', `The request body exceeds ${limitBytes} bytes`);
  }
}
