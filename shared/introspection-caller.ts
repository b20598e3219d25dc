/**
 * Who calls POST /oauth2/introspect. API Gateway lets every request of that route through (its
 * JWT authorizer would refuse HTTP Basic), so the function authenticates the caller itself:
 * - `Authorization: Bearer <jwt>`: verified as the JWT authorizer verifies it (shared/bearer-jwt.ts);
 * - `Authorization: Basic <client_id:client_secret>` (RFC 6749 §2.3.1, both form-encoded): a declared
 *   resource server's client secret, the client id being its `sub`.
 * Anything else is a 401 with the challenge of the scheme it tried.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { verifyBearerJwt } from './bearer-jwt.js';
import { UnauthorizedError } from './errors.js';
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
  if (/^bearer$/i.test(scheme) && credentials) {
    const claims = await verifyBearerJwt(credentials);
    if (!claims) throw new UnauthorizedError('The bearer token is not valid');
    return callerOfClaims(claims);
  }
  if (/^basic$/i.test(scheme) && credentials) return basicCaller(credentials);
  throw new UnauthorizedError('Authenticate with a bearer JWT or with HTTP Basic client credentials');
}

async function basicCaller(credentials: string): Promise<Caller> {
  const refused = () => new InvalidClientError('The client credentials are not valid');
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw refused();
  let clientId: string;
  let secret: string;
  try {
    [clientId, secret] = [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
  } catch {
    throw refused();
  }
  const orgId = orgOfClientSecret(secret);
  if (!orgId) throw refused();
  const now = Date.now();
  // A secret made since the declaration was cached is read fresh before it is refused.
  let server = await declaredResourceServer(orgId, clientId);
  if (!server || !holdsSecret(server, secret, now)) server = await declaredResourceServer(orgId, clientId, { fresh: true });
  if (!server || !holdsSecret(server, secret, now)) throw refused();
  return { sub: server.sub, orgId, edition: server.edition, scopes: new Set(['tokens:introspect']) };
}
