import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { verifyAsAuthorizer } from '../shared/jwt-rules.js';

/**
 * The local identity provider: an RS256 key kept under DATA_DIR, a JWKS the local server
 * publishes, and verification with API Gateway's JWT authorizer's rules (shared/jwt-rules.ts).
 */

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
    /** An ID token this issuer signed for the client (a logout's `id_token_hint`: one expired within the day will do), or undefined. */
    async verifyIdToken(token: string, clientId: string): Promise<JWTPayload | undefined> {
      try {
        return (await jwtVerify(token, keySet, { issuer, audience: clientId, algorithms: ['RS256'], clockTolerance: '1d' })).payload;
      } catch {
        return undefined;
      }
    },
    /** The verified claims, or undefined for anything API Gateway would answer 401 to. */
    async verify(token: string): Promise<JWTPayload | undefined> {
      return verifyAsAuthorizer(token, keySet, { issuer, audiences: [audience] });
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
