/**
 * Declared resource servers: an org names the resource servers that introspect its tokens (by the
 * `sub` of their JWT), each with the audience it serves, so that a token minted for one API is
 * not active at another; and may give one a client secret for HTTP Basic authentication (RFC
 * 6749 §2.3.1), which Spring Security's introspector and Kong's introspection plugin send.
 */
import { randomBytes } from 'node:crypto';
import { recordEvent } from '../db/audit-event.js';
import {
  deleteResourceServerWrite, getResourceServer, listResourceServers, putResourceServerWrite, type ClientSecretHash, type ResourceServer,
} from '../db/resource-server.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { retrying, RETRY } from '../retry.js';
import { iso } from '../time.js';
import type { Caller } from '../api/define.js';
import type { ResourceServerView } from '../api/resource-servers.js';
import { auditEvent } from './audit.js';
import { hasher } from './hasher.js';
import { cursors, listAnswer } from './paging.js';

/** How long a client secret keeps working once a new one replaced it: time to roll the new one out. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;
/** How long a container trusts what it read of a declaration: a change reaches every container within this. */
export const DECLARATION_CACHE_MS = 30_000;
const CACHE_ENTRIES = 10_000;

export function resourceServerView(server: ResourceServer, now = Date.now()): ResourceServerView {
  return {
    sub: server.sub, name: server.name, audience: server.audience,
    secrets: server.secrets.filter((s) => isLive(s, now)).map(({ createdAt, expiresAt }) => ({ createdAt, expiresAt })),
    createdAt: server.createdAt, updatedAt: server.updatedAt,
  };
}

const isLive = (secret: ClientSecretHash, now: number) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now;
const changed = (caller: Caller, sub: string, change: string, details: Record<string, unknown>, now: number) =>
  recordEvent(auditEvent(caller, 'resource-server.changed', { details: { sub, change, ...details } }, now));

/** PUT /v1/resource-servers/{sub}: declared (created: true) or replaced; the same declaration again writes nothing. Its secrets stay. */
export async function declareResourceServer(caller: Caller, sub: string, input: { name: string; audience: string }, now: number) {
  return retrying(async () => {
    const current = await getResourceServer(caller.orgId, sub);
    if (current && current.name === input.name && current.audience === input.audience) return { created: false, server: current };
    const server: ResourceServer = {
      orgId: caller.orgId, sub, ...input, edition: caller.edition, secrets: current?.secrets ?? [],
      createdAt: current?.createdAt ?? iso(now), updatedAt: iso(now), version: (current?.version ?? 0) + 1,
    };
    const event = changed(caller, sub, current ? 'replaced' : 'declared', { audience: input.audience, ...(current ? { from: { name: current.name, audience: current.audience } } : {}) }, now);
    if (!(await commit([putResourceServerWrite(server, current?.version ?? null), event]))) return RETRY;
    forget(caller.orgId, sub);
    return { created: !current, server };
  }, () => new ConflictError('The resource server was changed concurrently too often; retry the request'));
}

export async function getDeclaredResourceServer(orgId: string, sub: string): Promise<ResourceServer> {
  const server = await getResourceServer(orgId, sub);
  if (!server) throw new NotFoundError(`Resource server ${sub}`);
  return server;
}

export async function resourceServersPage(orgId: string, limit: number, cursor: string | undefined, now: number) {
  const list = 'resource-servers';
  const page = await listResourceServers(orgId, limit, cursors.decode(orgId, list, cursor));
  return listAnswer(orgId, list, page, (s) => resourceServerView(s, now));
}

/** DELETE /v1/resource-servers/{sub}: no longer declared (its secrets end with it); audited. */
export async function deleteResourceServer(caller: Caller, sub: string, now: number): Promise<void> {
  if (!(await commit([deleteResourceServerWrite(caller.orgId, sub), changed(caller, sub, 'deleted', {}, now)]))) throw new NotFoundError(`Resource server ${sub}`);
  forget(caller.orgId, sub);
}

/**
 * POST /v1/resource-servers/{sub}/secret: a new client secret, shown once and stored as its keyed
 * hash. The one it replaces keeps working for SECRET_OVERLAP_MS. The secret carries its org (not
 * secret: Basic credentials name no org, and a `sub` may be declared by several orgs).
 */
export async function newClientSecret(caller: Caller, sub: string, now: number) {
  const clientSecret = `ous_${Buffer.from(caller.orgId).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const previousExpiresAt = iso(now + SECRET_OVERLAP_MS);
  return retrying(async () => {
    const current = await getDeclaredResourceServer(caller.orgId, sub);
    const kept = current.secrets.filter((s) => isLive(s, now)).map((s) => ({ ...s, expiresAt: s.expiresAt ?? previousExpiresAt }));
    const secrets = [...kept, { hash: hasher.digest(clientSecret).lookupKey, createdAt: iso(now), expiresAt: null }];
    const server = { ...current, secrets, updatedAt: iso(now), version: current.version + 1 };
    if (!(await commit([putResourceServerWrite(server, current.version), changed(caller, sub, 'secret-created', { previousSecretsExpireAt: kept.length ? previousExpiresAt : null }, now)]))) return RETRY;
    forget(caller.orgId, sub);
    return { clientId: sub, clientSecret, createdAt: iso(now), previousSecretsExpireAt: kept.length ? previousExpiresAt : null };
  }, () => new ConflictError('The resource server was changed concurrently too often; retry the request'));
}

/** DELETE /v1/resource-servers/{sub}/secret: every secret ends now (a leak); audited when there were live ones. */
export async function revokeClientSecrets(caller: Caller, sub: string, now: number): Promise<{ secretsRevoked: number }> {
  return retrying(async () => {
    const current = await getDeclaredResourceServer(caller.orgId, sub);
    const live = current.secrets.filter((s) => isLive(s, now)).length;
    if (live === 0) return { secretsRevoked: 0 };
    const server = { ...current, secrets: [], updatedAt: iso(now), version: current.version + 1 };
    if (!(await commit([putResourceServerWrite(server, current.version), changed(caller, sub, 'secrets-revoked', { secretsRevoked: live }, now)]))) return RETRY;
    forget(caller.orgId, sub);
    return { secretsRevoked: live };
  }, () => new ConflictError('The resource server was changed concurrently too often; retry the request'));
}

// ---- Per-container cache of declarations (introspection reads it without a round trip of its own) ----

const cache = new Map<string, { server: ResourceServer | undefined; readAt: number; until: number }>();
const cacheKey = (orgId: string, sub: string) => `${orgId}\n${sub}`;
const forget = (orgId: string, sub: string) => cache.delete(cacheKey(orgId, sub));

/**
 * The declaration of `sub` in the org (undefined: not declared), as read at most
 * DECLARATION_CACHE_MS ago. `fresh`: read again unless read less than `atMostEveryMs` ago (so
 * wrong secrets cannot make every attempt a read).
 */
export async function declaredResourceServer(orgId: string, sub: string, { fresh = false, atMostEveryMs = 0 } = {}): Promise<ResourceServer | undefined> {
  const key = cacheKey(orgId, sub);
  const hit = cache.get(key);
  const now = Date.now();
  if (hit && hit.until > now && (!fresh || hit.readAt > now - atMostEveryMs)) return hit.server;
  const server = await getResourceServer(orgId, sub);
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, { server, readAt: now, until: now + DECLARATION_CACHE_MS });
  return server;
}

/** The org a client secret names, or undefined for a value that is not one of ours. */
export function orgOfClientSecret(secret: string): string | undefined {
  const match = /^ous_([A-Za-z0-9_-]{1,400})\.[A-Za-z0-9_-]{43}$/.exec(secret);
  return match ? Buffer.from(match[1] as string, 'base64url').toString('utf8') : undefined;
}

/** Whether `secret` is one of the server's live client secrets (under any key version of the service secret). */
export function holdsSecret(server: ResourceServer, secret: string, now: number): boolean {
  const candidates = new Set(hasher.lookupKeysOf(secret));
  return server.secrets.some((s) => isLive(s, now) && candidates.has(s.hash));
}
