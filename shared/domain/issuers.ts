/**
 * Trusted JWT issuers (contract section 9): an org names the issuer of its JWT access tokens (Okta,
 * Auth0, Cognito, Entra ID, Keycloak, any RFC 9068 issuer), and the tokens its resource servers
 * introspect are learned on first sight, with no code at the authorization server.
 */
import { isIP } from 'node:net';
import { isLoopbackHost, isPublicAddress } from '../public-address.js';
import { recordEvent } from '../db/audit-event.js';
import { deleteIssuerWrites, getIssuer, getIssuerUrl, getIssuerUsage, listIssuers, putIssuerWrites, type IssuerUsage, type TrustedIssuer } from '../db/issuer.js';
import { commitOrFailures } from '../db/unit-of-work.js';
import { config } from '../config.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Caller } from '../api/define.js';
import type { IssuerView, TrustIssuerInput } from '../api/issuers.js';
import { auditEvent } from './audit.js';
import { claimsOf, presetRules } from './issuer-presets.js';
import { cursors, listAnswer } from './paging.js';

/**
 * Where the service may fetch from (an issuer's keys) and what it trusts as `iss`: https to a
 * host name or a public address; plain http only to a loopback host, and only when the service
 * runs locally. (The address a name resolves to is checked again when its keys are fetched.)
 */
export function urlProblem(value: string): string | undefined {
  const url = new URL(value);
  const loopback = isLoopbackHost(url.hostname);
  if (url.username || url.password) return 'must carry no credentials';
  if (url.hash) return 'must have no fragment';
  if (loopback) return config.allowLoopbackIssuers ? undefined : 'must not be a loopback address';
  if (url.protocol !== 'https:') return 'must be an https URL';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isPublicAddress(host)) return 'must not be a private, link-local or reserved address';
  return undefined;
}

export function issuerView(issuer: TrustedIssuer, usage: IssuerUsage): IssuerView {
  return {
    issuerId: issuer.issuerId, issuer: issuer.issuer, jwksUri: issuer.jwksUri, audiences: issuer.audiences, preset: issuer.preset, claims: issuer.claims,
    backdatingSeconds: issuer.preset ? presetRules[issuer.preset].backdatingSeconds : 0,
    trustedSince: issuer.trustedSince, learnedTokenCount: usage.learnedTokenCount, lastUsedAt: usage.lastUsedAt, createdAt: issuer.createdAt, updatedAt: issuer.updatedAt,
  };
}

/** What the org asked for, checked: the URLs' rules, and audiences where its tokens need them. */
function checkedInput(input: TrustIssuerInput): Pick<TrustedIssuer, 'issuer' | 'jwksUri' | 'audiences' | 'preset' | 'claims'> {
  for (const field of ['issuer', 'jwksUri'] as const) {
    const problem = urlProblem(input[field]);
    if (problem) throw ValidationError.field(`body.${field}`, problem);
  }
  const preset = input.preset ?? null;
  if (preset && presetRules[preset].needsAudiences && !input.audiences) {
    throw ValidationError.field('body.audiences', `is required with the ${preset} preset: only the audience tells its access tokens from its ID tokens`);
  }
  return { issuer: input.issuer, jwksUri: input.jwksUri, audiences: input.audiences ?? [], preset, claims: claimsOf(preset, input.claims) };
}

/** Whether a stored issuer already is what was asked for (claims compared by name: a stored map keeps no order). */
const sameTrust = (a: ReturnType<typeof checkedInput>, b: TrustedIssuer) => {
  const comparable = (t: typeof a) => JSON.stringify([t.issuer, t.jwksUri, t.audiences, t.preset, (['client', 'user', 'userName', 'scope', 'tokenId'] as const).map((k) => t.claims[k])]);
  return comparable(a) === comparable(b);
};

/** Whether two trusts of an issuer read its tokens as the same tokens, of the same apps and users. */
const sameNames = (a: Pick<TrustedIssuer, 'preset' | 'claims'>, b: Pick<TrustedIssuer, 'preset' | 'claims'>) =>
  a.preset === b.preset && a.claims.client === b.claims.client && a.claims.user === b.claims.user && a.claims.tokenId === b.claims.tokenId;

/**
 * From when a trust learns tokens: after the org last stopped trusting its URL, and after a change
 * of how its tokens are named (the client, user or token-id claim, or the preset), so that no token
 * revoked under one trust is learned again, under another name, by the next.
 */
function trustedSinceOf(wanted: Pick<TrustedIssuer, 'preset' | 'claims'>, current: TrustedIssuer | undefined, distrustedAt: string | undefined, now: number): string | null {
  const since = [current?.trustedSince, distrustedAt, current && !sameNames(wanted, current) ? iso(now) : undefined].filter((at): at is string => typeof at === 'string');
  return since.sort().at(-1) ?? null;
}

/** PUT /v1/issuers/{issuerId}: trusted (created: true) or replaced; the same again writes nothing. An issuer URL is trusted under one id of the org. */
export async function trustIssuer(caller: Caller, issuerId: string, input: TrustIssuerInput, now: number): Promise<{ created: boolean; view: IssuerView }> {
  const wanted = checkedInput(input);
  return retrying(async () => {
    const [current, url] = await Promise.all([getIssuer(caller.orgId, issuerId), getIssuerUrl(caller.orgId, wanted.issuer)]);
    if (current && sameTrust(wanted, current)) return { created: false, view: issuerView(current, await getIssuerUsage(caller.orgId, issuerId)) };
    // The URL's copy is taken over as read when the org stopped trusting it; versions only grow
    // across trusts of an id and of a URL, so a restore's replay (the newer version wins) and a
    // first sight pinned to the issuer as read never take one trust for another.
    const sameUrl = current?.issuer === wanted.issuer;
    const urlSeen = sameUrl ? {} : url;
    const issuer: TrustedIssuer = {
      orgId: caller.orgId, issuerId, ...wanted, trustedSince: trustedSinceOf(wanted, current, urlSeen.distrusted?.at, now),
      createdAt: current?.createdAt ?? iso(now), updatedAt: iso(now), version: Math.max(current?.version ?? 0, urlSeen.distrusted?.version ?? 0) + 1,
    };
    const writes = putIssuerWrites(issuer, current, urlSeen);
    const event = auditEvent(caller, 'issuer.changed', {
      details: { issuerId, change: current ? 'replaced' : 'trusted', issuer: issuer.issuer, preset: issuer.preset, ...(current ? { from: { issuer: current.issuer, jwksUri: current.jwksUri, audiences: current.audiences, preset: current.preset } } : {}) },
    }, now);
    const failures = await commitOrFailures([...writes, recordEvent(event)]);
    if (failures === null) return { created: !current, view: issuerView(issuer, await getIssuerUsage(caller.orgId, issuerId)) };
    // Only the URL copy's condition failed, on a new URL: another id of the org trusts it, or it
    // was trusted and distrusted again since it was read (read again). Both failing is this id
    // written concurrently: read again.
    if (failures.includes(1) && !failures.includes(0) && !sameUrl && (await getIssuerUrl(caller.orgId, issuer.issuer)).trusted) {
      throw new ConflictError(`The org already trusts ${issuer.issuer} under another issuer id`);
    }
    return RETRY;
  }, () => new ConflictError('The issuer was changed concurrently too often; retry the request'));
}

export async function getTrustedIssuer(orgId: string, issuerId: string): Promise<IssuerView> {
  const issuer = await getIssuer(orgId, issuerId);
  if (!issuer) throw new NotFoundError(`Issuer ${issuerId}`);
  return issuerView(issuer, await getIssuerUsage(orgId, issuerId));
}

export async function issuersPage(orgId: string, limit: number, cursor: string | undefined) {
  const list = 'issuers';
  const page = await listIssuers(orgId, limit, cursors.decode(orgId, list, cursor));
  return listAnswer(orgId, list, page, (issuer) => issuerView(issuer, issuer));
}

/**
 * DELETE /v1/issuers/{issuerId}: no longer trusted; its learned tokens are inactive from then on
 * (introspection reads the issuer every time), and stay so if the org trusts the URL again.
 */
export async function distrustIssuer(caller: Caller, issuerId: string, now: number): Promise<void> {
  await retrying(async () => {
    const current = await getIssuer(caller.orgId, issuerId);
    if (!current) throw new NotFoundError(`Issuer ${issuerId}`);
    const event = auditEvent(caller, 'issuer.changed', { details: { issuerId, change: 'distrusted', issuer: current.issuer } }, now);
    return (await commitOrFailures([...deleteIssuerWrites(current, iso(now)), recordEvent(event)])) === null ? undefined : RETRY;
  }, () => new ConflictError('The issuer was changed concurrently too often; retry the request'));
}
