/**
 * The rules of API Gateway's JWT authorizer, in one place: the local server (local/jwt.ts) and
 * the functions that verify bearer JWTs themselves (shared/bearer-jwt.ts) both apply them.
 * - the signature against the issuer's keys, RSA algorithms only (so `alg: none` and HMAC fail);
 * - `iss` equal to the issuer; `exp` required; `exp`, `nbf` and `iat` with at most 60 s of skew;
 * - `aud` must name one of the audiences; a token without `aud` is checked on `client_id` instead
 *   (the authorizer "validates client_id only if aud is not present": Cognito's access tokens).
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

const CLOCK_TOLERANCE_S = 60;

/** The verified claims, or undefined for a token the JWT authorizer answers 401 to. Key-fetch failures (`ERR_JWKS_TIMEOUT`, a failed fetch) are thrown. */
export async function verifyAsAuthorizer(token: string, keys: JWTVerifyGetKey, expected: { issuer: string; audiences: readonly string[] }): Promise<JWTPayload | undefined> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, { issuer: expected.issuer, algorithms: ['RS256', 'RS384', 'RS512'], requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_S }));
  } catch (error) {
    if (isKeyFetchFailure(error)) throw error;
    return undefined;
  }
  if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) return undefined;
  const audiences = payload.aud === undefined ? [payload.client_id] : [payload.aud].flat();
  return audiences.some((a) => typeof a === 'string' && expected.audiences.includes(a)) ? payload : undefined;
}

/** The issuer's keys could not be read (timeout, network, an answer that is no JWKS): not the caller's fault. */
function isKeyFetchFailure(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_INVALID') return true;
  return error instanceof TypeError && code === undefined; // fetch's own failure ("fetch failed"); nothing a token can cause
}
