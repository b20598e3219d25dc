/**
 * Verifying a bearer JWT in a function, with the rules API Gateway's JWT authorizer applies
 * (shared/jwt-rules.ts), for a route the gateway lets through unauthenticated because it also
 * takes credentials the authorizer cannot check. The issuer's keys are found through its OpenID
 * Connect discovery document as the authorizer finds them (or at JWT_JWKS_URL, when set), fetched
 * once per container and again (at most every 30 s) when a token names a `kid` not seen.
 */
import { createRemoteJWKSet, type JWTPayload } from 'jose';
import { optional, required } from './config.js';
import { verifyAsAuthorizer } from './jwt-rules.js';

const FETCH_TIMEOUT_MS = 3000;

let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

/** The issuer's key set, from its discovery document (read once; a failed read is tried again next time). */
function issuerKeys(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
  keySet ??= (async () => {
    const given = optional('JWT_JWKS_URL');
    if (given) return createRemoteJWKSet(new URL(given), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: 30_000 });
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`The issuer's discovery document answered ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string') throw new Error('The issuer\'s discovery document has no jwks_uri');
    return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: 30_000 });
  })().catch((error: unknown) => {
    keySet = undefined;
    throw error;
  });
  return keySet;
}

/** The verified claims, or undefined for a token the JWT authorizer would answer 401 to. Throws when the issuer's keys cannot be read. */
export async function verifyBearerJwt(token: string): Promise<JWTPayload | undefined> {
  const issuer = required('JWT_ISSUER');
  const audiences = required('JWT_AUDIENCE').split(',').map((a) => a.trim()).filter(Boolean);
  return verifyAsAuthorizer(token, await issuerKeys(issuer), { issuer, audiences });
}
