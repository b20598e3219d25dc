/**
 * Where a JWT of a trusted issuer is stored (contract section 9), read from the token without
 * checking it: only to choose where to look. Introspection checks the signature before it trusts
 * anything else; RFC 7009's caller is the org's own authorization server.
 */
import * as v from 'valibot';
import type { LearnedName, TokenName } from '../crypto.js';
import { idSchema } from '../schemas/common.js';

/** A compact JWS whose payload names an issuer. */
export interface PresentedJwt {
  issuer: string;
  payload: Record<string, unknown>;
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
    return typeof iss === 'string' ? { issuer: iss, payload: payload as Record<string, unknown> } : undefined;
  } catch {
    return undefined;
  }
}

/** A claim's value if it is an id (the contract's id rules), else undefined. */
export const idOf = (value: unknown): string | undefined => (v.is(idSchema, value) ? value : undefined);

/** What a learned token is stored by: (issuer, its token-id claim) when that is an id, else its raw value's keyed hash. */
export function learnedNameOf(rawToken: string, jwt: PresentedJwt, tokenIdClaim: string): TokenName {
  const tokenId = idOf(jwt.payload[tokenIdClaim]);
  return tokenId === undefined ? rawToken : { issuer: jwt.issuer, tokenId } satisfies LearnedName;
}

/** Whether two names are the same token's: the same raw value, or the same issuer and token id. */
export const sameName = (a: TokenName, b: TokenName | undefined) =>
  typeof a === 'string' || typeof b === 'string' || b === undefined ? a === b : a.issuer === b.issuer && a.tokenId === b.tokenId;
