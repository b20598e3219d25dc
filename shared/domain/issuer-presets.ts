/**
 * What the identity providers people run put in their JWT access tokens (contract section 9),
 * each from its vendor's documentation (the README's preset table cites the pages): the claims
 * naming the client, the user, the user's name, the scopes and the token id; how a token of the
 * app's own client (client credentials) shows; what tells an access token from an ID token; and
 * how far the issuer backdates `iat`.
 */
import type { JWTPayload } from 'jose';

export const issuerPresets = ['okta', 'auth0', 'cognito', 'entra', 'keycloak'] as const;
export type IssuerPreset = (typeof issuerPresets)[number];

/** The claim names read from an issuer's tokens. `userName` null: its tokens carry no name. */
export interface IssuerClaims {
  client: string;
  user: string;
  userName: string | null;
  scope: string;
  tokenId: string;
}

interface PresetRules {
  claims: IssuerClaims;
  /** Whether its access tokens can only be told from its ID tokens by their audience. */
  needsAudiences: boolean;
  /** A token of the app's own client (client credentials), beside "the user claim is absent". */
  isClientToken?: (payload: JWTPayload) => boolean;
  /** Where a client's own token carries its permissions, when not in the scope claim. */
  clientScopeClaim?: string;
  /** Where the issuer's other token profile names the client, when its client claim is absent. */
  clientFallbackClaim?: string;
  /** A token that is an access token by the issuer's own marker (checked when it has one). */
  isAccessToken?: (payload: JWTPayload) => boolean;
  /** How many seconds before the issue the issuer sets `iat`. */
  backdatingSeconds: number;
}

/** RFC 9068's JWT access-token claims: what an issuer without a preset is read by, unless the org names others. */
export const RFC9068_CLAIMS: IssuerClaims = { client: 'client_id', user: 'sub', userName: null, scope: 'scope', tokenId: 'jti' };

export const presetRules: Record<IssuerPreset, PresetRules> = {
  // Okta: `cid` the client, `uid` the user (absent from client-credentials tokens, whose `sub` is the client), `sub` the login, `scp` an array.
  okta: { claims: { client: 'cid', user: 'uid', userName: 'sub', scope: 'scp', tokenId: 'jti' }, needsAudiences: true, backdatingSeconds: 0 },
  // Auth0 (its default token profile): `azp` the client, `sub` the user; a client-credentials token says `gty: client-credentials`
  // and its `sub` is `<client>@clients`. Its RFC 9068 profile names the client in `client_id` instead and has no `gty`.
  // The default profile carries no `jti`.
  auth0: {
    claims: { client: 'azp', user: 'sub', userName: null, scope: 'scope', tokenId: 'jti' }, needsAudiences: true, backdatingSeconds: 0, clientFallbackClaim: 'client_id',
    isClientToken: (p) => p.gty === 'client-credentials' || (typeof p.sub === 'string' && p.sub.endsWith('@clients')),
  },
  // Cognito: access tokens have no `aud` but say `token_use: access`; a client-credentials token's `sub` is its `client_id`.
  cognito: {
    claims: { client: 'client_id', user: 'sub', userName: 'username', scope: 'scope', tokenId: 'jti' }, needsAudiences: false, backdatingSeconds: 0,
    isClientToken: (p) => p.sub === p.client_id, isAccessToken: (p) => p.token_use === 'access',
  },
  // Entra ID (v2.0 tokens): `azp` the client, `oid` the user, `scp` space-separated, `uti` the token id. An app-only token
  // (client credentials) says `idtyp: app` (an optional claim), or else shows by having no `scp` (only delegated tokens carry
  // it) and its service principal as both `sub` and `oid`; it holds its application permissions in `roles`. `iat` is set
  // 5 minutes early: observed and reported by its users, not documented.
  entra: {
    claims: { client: 'azp', user: 'oid', userName: 'preferred_username', scope: 'scp', tokenId: 'uti' }, needsAudiences: true, backdatingSeconds: 300,
    isClientToken: (p) => p.idtyp === 'app' || (p.scp === undefined && p.sub !== undefined && p.sub === p.oid), clientScopeClaim: 'roles',
  },
  // Keycloak: `azp` the client, `sub` the user, `preferred_username`; a service account's token (client credentials) is its
  // client's: it carries `client_id` (`clientId` before Keycloak renamed the mapper's claim).
  // Its tokens say what they are in their payload's `typ`: `Bearer` for an access token, `ID` and `Refresh` for the others
  // (an ID token's audience is its client, which may well be among the audiences too).
  keycloak: {
    claims: { client: 'azp', user: 'sub', userName: 'preferred_username', scope: 'scope', tokenId: 'jti' }, needsAudiences: true, backdatingSeconds: 0,
    isClientToken: (p) => typeof p.client_id === 'string' || typeof p.clientId === 'string', isAccessToken: (p) => p.typ === 'Bearer',
  },
};

/** An issuer's claim names: its preset's (or RFC 9068's), with any the org gave over them. */
export function claimsOf(preset: IssuerPreset | null, given: Partial<IssuerClaims> = {}): IssuerClaims {
  const base = preset ? presetRules[preset].claims : RFC9068_CLAIMS;
  return { ...base, ...Object.fromEntries(Object.entries(given).filter(([, name]) => name !== undefined)) };
}
