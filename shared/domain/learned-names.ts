/**
 * Where a JWT of a trusted issuer is stored (contract section 9), read from the token without
 * checking it: only to choose where to look. Introspection checks the signature before it trusts
 * anything else; RFC 7009's caller is the org's own authorization server.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { LearnedName, TokenName } from '../crypto.js';
import { idSchema } from '../schemas/common.js';

/** A compact JWS whose payload names an issuer. */
export interface PresentedJwt {
  issuer: string;
  payload: Record<string, unknown>;
  /** The header and payload as presented: what the signature covers. */
  signingInput: string;
}

const jsonPart = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** The JWT a raw value is (a JSON header and a payload with a string `iss`), or undefined for anything else. */
export function peekJwt(rawToken: string): PresentedJwt | undefined {
  const parts = /^([\w-]+)\.([\w-]+)\.[\w-]+$/.exec(rawToken);
  if (!parts) return undefined;
  try {
    const header = jsonPart(parts[1] as string);
    const payload = jsonPart(parts[2] as string);
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
    const { iss } = payload as { iss?: unknown };
    return typeof iss === 'string' ? { issuer: iss, payload: payload as Record<string, unknown>, signingInput: `${parts[1]}.${parts[2]}` } : undefined;
  } catch {
    return undefined;
  }
}

/** A claim's value if it is an id (the contract's id rules), else undefined. */
export const idOf = (value: unknown): string | undefined => (v.is(idSchema, value) ? value : undefined);

/**
 * What a learned token is stored by: (issuer, its token-id claim); with no such claim, (issuer, a
 * digest of what its signature covers), never of the whole value: a signature has other spellings
 * that verify (unused base64url bits; ECDSA's (r, n − s)), each of which would be a new token.
 * The derived id starts with `#`, which no id has. Undefined when the claim is there but is no id
 * (a number, say): another spelling of an id is no new token, so such a token is nobody's.
 */
export function learnedNameOf(jwt: PresentedJwt, tokenIdClaim: string): LearnedName | undefined {
  const claim = jwt.payload[tokenIdClaim];
  if (claim === undefined) return { issuer: jwt.issuer, tokenId: `#${createHash('sha256').update(jwt.signingInput).digest('base64url')}` };
  const tokenId = idOf(claim);
  return tokenId === undefined ? undefined : { issuer: jwt.issuer, tokenId };
}

/** A JWT time claim (epoch seconds) in milliseconds, when it is a number a Date can hold; else undefined. */
export const jwtTimeMs = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 8.64e12 ? value * 1000 : undefined;

/** Whether two names are the same token's: the same raw value, or the same issuer and token id. */
export const sameName = (a: TokenName, b: TokenName | undefined) =>
  typeof a === 'string' || typeof b === 'string' || b === undefined ? a === b : a.issuer === b.issuer && a.tokenId === b.tokenId;
