/**
 * Verifying a bearer JWT in a function, with the rules API Gateway's JWT authorizer applies (for a
 * route the gateway lets through unauthenticated because it also takes credentials the authorizer
 * cannot check): the signature against the issuer's JWKS, found through its OpenID Connect
 * discovery document as the authorizer finds it (or at JWT_JWKS_URL, when set); `iss`, `aud`, `exp` (required) and `nbf` with at
 * most 60 s of clock skew; RSA algorithms only, so `alg: none` and HMAC fail. The keys are
 * fetched once per container and again (at most every 30 s) when a token names a `kid` not seen.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { optional, required } from './config.js';

const CLOCK_TOLERANCE_S = 60;
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

/** The verified claims, or undefined for a token the JWT authorizer would answer 401 to. Throws only when the issuer cannot be reached. */
export async function verifyBearerJwt(token: string): Promise<JWTPayload | undefined> {
  const issuer = required('JWT_ISSUER');
  const audience = required('JWT_AUDIENCE').split(',').map((a) => a.trim()).filter(Boolean);
  const keys = await issuerKeys(issuer);
  try {
    const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['RS256', 'RS384', 'RS512'], requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_S });
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) return undefined;
    return payload;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_JWKS_TIMEOUT') throw error;
    return undefined;
  }
}
