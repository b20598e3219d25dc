/**
 * Who calls POST /oauth2/introspect. API Gateway lets every request of that route through (its
 * JWT authorizer would refuse HTTP Basic), so the function authenticates the caller itself:
 * - `Authorization: Bearer <jwt>`: verified as the JWT authorizer verifies it (shared/bearer-jwt.ts);
 * - `Authorization: Basic <client_id:client_secret>` (RFC 6749 §2.3.1, both form-encoded): a declared
 *   resource server's client secret, the client id being its `sub`.
 * Anything else is a 401 with the challenge of the scheme it tried.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import * as v from 'valibot';
import { verifyBearerJwt } from './bearer-jwt.js';
import { TemporarilyUnavailableError, UnauthorizedError } from './errors.js';
import { idSchema } from './schemas/common.js';
import { callerOfClaims, type Caller } from './http.js';
import { declaredResourceServer, holdsSecret, orgOfClientSecret } from './domain/resource-servers.js';

/** RFC 6749 §5.2 `invalid_client`: client authentication failed (a 401 with the Basic challenge). */
class InvalidClientError extends UnauthorizedError {
  override readonly headers = { 'www-authenticate': 'Basic realm="oauth-usage", charset="UTF-8"' };
  override get oauthError() {
    return 'invalid_client' as const;
  }
}

const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));

export async function authenticateIntrospectionCaller(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<Caller> {
  const authorization = event.headers.authorization ?? event.headers.Authorization ?? '';
  const [scheme = '', credentials = ''] = authorization.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme) && credentials) return bearerCaller(credentials);
  if (/^basic$/i.test(scheme) && credentials) return basicCaller(credentials);
  throw new UnauthorizedError('Authenticate with a bearer JWT or with HTTP Basic client credentials');
}

async function bearerCaller(jwt: string): Promise<Caller> {
  let claims;
  try {
    claims = await verifyBearerJwt(jwt);
  } catch {
    // The identity provider's keys could not be read: the caller's token may well be good.
    throw new TemporarilyUnavailableError('The identity provider\'s keys could not be read to verify the bearer token; retry shortly');
  }
  if (!claims) throw new InvalidTokenError('The bearer token is not valid');
  return callerOfClaims(claims);
}

/** RFC 6750 §3.1: a bearer token was given and is not valid. */
class InvalidTokenError extends UnauthorizedError {
  override readonly headers = { 'www-authenticate': 'Bearer error="invalid_token"' };
}

async function basicCaller(credentials: string): Promise<Caller> {
  const refused = () => new InvalidClientError('The client credentials are not valid');
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw refused();
  // RFC 6749 §2.3.1 form-encodes both parts; many clients send the id as it is (`svc+orders`), so that spelling is tried too.
  const rawId = decoded.slice(0, colon);
  const clientIds = [...new Set([safeFormDecode(rawId), rawId])].filter((id): id is string => id !== undefined && v.is(idSchema, id));
  const secret = safeFormDecode(decoded.slice(colon + 1));
  const orgId = secret === undefined ? undefined : orgOfClientSecret(secret);
  if (!secret || !orgId || !v.is(idSchema, orgId) || clientIds.length === 0) throw refused();
  const now = Date.now();
  for (const clientId of clientIds) {
    // Through the cache; one declared or given a new secret since it was cached (here or in another container) is read again, at most every 5 s.
    let server = await declaredResourceServer(orgId, clientId);
    if (!server || !holdsSecret(server, secret, now)) server = await declaredResourceServer(orgId, clientId, { fresh: true, atMostEveryMs: 5000 });
    if (server && holdsSecret(server, secret, now)) return { sub: server.sub, orgId, edition: server.edition, scopes: new Set(['tokens:introspect']) };
  }
  throw refused();
}

function safeFormDecode(part: string): string | undefined {
  try {
    return formDecode(part);
  } catch {
    return undefined;
  }
}
