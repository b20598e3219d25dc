import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The local identity provider: an RS256 key kept under DATA_DIR, a JWKS the local server
 * publishes, and verification with the same rules as API Gateway's JWT authorizer (signature
 * against the JWKS, iss, aud, exp, nbf; RSA algorithms only, so `alg: none` and HS256 fail).
 */
/** Clock skew accepted on exp, nbf and iat, in seconds. */
const CLOCK_TOLERANCE_S = 60;

export async function localIssuer(dataDir: string, issuer: string, audience: string) {
  const privateJwk = await signingJwk(dataDir);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const jwks = { keys: [{ ...publicJwk, use: 'sig', alg: 'RS256' }] };
  const keySet = createLocalJWKSet(jwks);
  const signingKey = await importJWK(privateJwk, 'RS256');

  return {
    jwks,
    async mint(claims: { sub: string; org_id: string; org_edition: string; scope: string }, ttlSeconds = 3600): Promise<string> {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(signingKey);
    },
    /** An OpenID Connect ID token for the console (audience: its client id). */
    async mintIdToken(claims: { sub: string }, clientId: string, nonce: string | undefined, ttlSeconds = 3600): Promise<string> {
      return new SignJWT({ ...claims, ...(nonce ? { nonce } : {}) })
        .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(clientId)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(signingKey);
    },
    /** The verified claims, or undefined for anything API Gateway would answer 401 to. */
    async verify(token: string): Promise<JWTPayload | undefined> {
      try {
        // As API Gateway's JWT authorizer: exp is required, nbf and iat get at most a minute of clock skew.
        const { payload } = await jwtVerify(token, keySet, { issuer, audience, algorithms: ['RS256', 'RS384', 'RS512'], requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_S });
        if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) return undefined;
        return payload;
      } catch {
        return undefined;
      }
    },
  };
}

export type LocalIssuer = Awaited<ReturnType<typeof localIssuer>>;

/** The signing key under DATA_DIR, created on first use (owner-only file). */
async function signingJwk(dataDir: string): Promise<JWK> {
  const file = resolve(dataDir, 'jwt-signing-key.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: `local-${Date.now().toString(36)}`, alg: 'RS256' };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}
