/** Reading what tokens' lives depend on (see `Lineage` in rules.ts): their grants and older versions' parents. */
import { getGrants } from '../db/grant.js';
import { getTokens } from '../db/token.js';
import type { Grant, Token } from '../model.js';
import { hasher } from './hasher.js';
import { grantRef, legacyParentId, type Lineage } from './rules.js';

/** The lookup key of the refresh token an older version's access token was registered from (undefined: none). */
export const legacyParentKeyOf = (token: Token) => {
  const id = legacyParentId(token);
  return id === null ? undefined : hasher.storedLookupKeyOf(id);
};

/** What the lineages of `tokens` need read: their grants' ids and their legacy parents' lookup keys. */
export function lineageKeys(tokens: Token[]): { grantIds: string[]; lookupKeys: string[] } {
  return {
    grantIds: tokens.map((t) => grantRef(t)?.grantId).filter((id): id is string => id !== undefined),
    lookupKeys: tokens.map(legacyParentKeyOf).filter((k): k is string => k !== undefined),
  };
}

/** Each token's lineage among what was read: tokens by lookup key, grants by id. */
export function lineageAmong(read: { tokens: Map<string, Token>; grants: Map<string, Grant> }): (token: Token) => Lineage {
  return (token) => {
    const ref = grantRef(token);
    const parentKey = legacyParentKeyOf(token);
    return { grant: ref ? read.grants.get(ref.grantId) : undefined, legacyParent: parentKey === undefined ? undefined : read.tokens.get(parentKey) };
  };
}

/** The same, reading (in one round trip) the grants and the legacy parents not among `known`. */
export async function readLineages(orgId: string, tokens: Token[], known: Map<string, Token> = new Map()): Promise<(token: Token) => Lineage> {
  const { grantIds, lookupKeys } = lineageKeys(tokens);
  const missing = lookupKeys.filter((k) => !known.has(k));
  const [grants, parents] = await Promise.all([
    grantIds.length ? getGrants(orgId, grantIds) : new Map<string, Grant>(),
    missing.length ? getTokens(orgId, missing) : [],
  ]);
  return lineageAmong({ tokens: new Map([...known, ...parents.map((t) => [t.lookupKey, t] as const)]), grants });
}
