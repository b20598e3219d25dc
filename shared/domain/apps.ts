import { changeAppWrites, getAppWithCounters, insertApp, listApps, settingDefaults, unblockAppWrites, type AppPatch } from '../db/app.js';
import { recordEvent } from '../db/audit-event.js';
import { commit } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors.js';
import { newAppId } from '../ids.js';
import { retrying, RETRY } from '../retry.js';
import { sameValue } from '../same-value.js';
import { iso } from '../time.js';
import type { ClientDeclaration, CreateAppInput, SettingsPatch } from '../schemas/apps.js';
import { defaultPolicies, type Policies } from '../schemas/policies.js';
import { auditEvent } from './audit.js';
import type { Actor, ActorKind, App, AppCounters } from '../model.js';
import { cursors, listAnswer } from './paging.js';
import { appDetailSchema, appSummarySchema, type AppDetailView, type AppSummaryView } from '../api/apps.js';
import { viewOf } from '../schemas/answers.js';

/** An app's detail: every field its answer schema shows (shared/api/apps.ts), policies in their own order. */
export function appDetailView(app: App & AppCounters): AppDetailView {
  return { ...viewOf(appDetailSchema, app), policies: policiesView(app.policies) };
}

/** Policies in the contract's field order (stored maps come back in any order). */
const policiesView = (p: Policies): Policies => ({
  refreshTokenPolicy: p.refreshTokenPolicy.mode === 'expire-after' || p.refreshTokenPolicy.mode === 'expire-if-unused'
    ? { mode: p.refreshTokenPolicy.mode, value: p.refreshTokenPolicy.value, unit: p.refreshTokenPolicy.unit }
    : { mode: p.refreshTokenPolicy.mode },
  accessTokenLifetimeMinutes: p.accessTokenLifetimeMinutes,
  permittedUsers: p.permittedUsers,
  ipRelaxation: p.ipRelaxation,
  sessionTimeoutMinutes: p.sessionTimeoutMinutes,
  refreshTokenReuseGraceSeconds: p.refreshTokenReuseGraceSeconds,
});

const appListView = (app: App & AppCounters): AppSummaryView => viewOf(appSummarySchema, app);

/** Strong ETag of an app's settings and policies. */
export const etagOf = (app: Pick<App, 'version'>) => `"v${app.version}"`;

/** RFC 9110 §13.1.1: `*` or a list of entity tags; weak tags never match. Undefined: no precondition. */
function checkIfMatch(ifMatch: string | undefined, app: Pick<App, 'version'>): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((t) => t.trim());
  if (!tags.includes('*') && !tags.includes(etagOf(app))) throw new PreconditionFailedError();
}

/** A new app's record: its settings, version 1, no revocation yet, not listed until its first token. */
export function newAppRecord(orgId: string, appId: string, settings: Omit<CreateAppInput, 'appId'>, now: number): App {
  const at = iso(now);
  return { orgId, appId, ...settingDefaults(), ...settings, createdAt: at, updatedAt: at, version: 1, revokeEpoch: 0, lastUsedAt: null, active: false, blocked: false };
}

export async function createApp(caller: Actor, input: CreateAppInput, now: number): Promise<App & AppCounters> {
  const { appId = newAppId(), ...settings } = input;
  const app = newAppRecord(caller.orgId, appId, settings, now);
  const event = auditEvent(caller, 'app.created', { appId, details: { name: app.name, policies: app.policies } }, now);
  if (!(await insertApp(app, [recordEvent(event)]))) throw new ConflictError(`An app with appId ${appId} already exists`);
  return { ...app, userCount: 0, activeTokenCount: 0 };
}

export async function getAppDetail(orgId: string, appId: string): Promise<App & AppCounters> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app) throw new NotFoundError(`App ${appId}`);
  return app;
}

/** GET /v1/apps (OAuth Usage): by name, only apps holding active tokens unless `all`. */
export async function listAppsPage(orgId: string, query: { all: boolean; q?: string; limit: number; cursor?: string }) {
  const list = `apps\n${query.all}\n${query.q?.toLowerCase() ?? ''}`;
  const page = await listApps(orgId, { activeOnly: !query.all, namePrefix: query.q, limit: query.limit, startKey: cursors.decode(orgId, list, query.cursor) });
  return listAnswer(orgId, list, page, appListView);
}

/**
 * Writes a change computed from the current app, honouring If-Match. A commit that fails is
 * tried again from a fresh read: only an app that moved on is a failed precondition (412); one
 * that only met a concurrent transaction on its items (a registration, say) is still current.
 * Without If-Match a concurrent change just means computing again from the newer app.
 */
export async function changeApp(
  caller: Actor, appId: string, ifMatch: string | undefined, now: number,
  compute: (app: App & AppCounters) => { patch: AppPatch; event: Parameters<typeof auditEvent>[1]; details: Record<string, unknown>; reason?: string } | undefined,
  kind: ActorKind = 'user',
): Promise<App & AppCounters> {
  return retrying(async () => {
    const app = await getAppDetail(caller.orgId, appId);
    checkIfMatch(ifMatch, app);
    const change = compute(app);
    if (!change) return app; // nothing differs: no write, no event, same ETag
    const updatedAt = iso(now);
    const written = await commit([
      ...changeAppWrites(caller.orgId, appId, { expectedVersion: app.version, patch: change.patch, updatedAt }),
      recordEvent(auditEvent(caller, change.event, { appId, details: change.details, ...(change.reason ? { reason: change.reason } : {}) }, now, kind)),
    ]);
    if (written) return { ...app, ...change.patch, version: app.version + 1, updatedAt };
    return RETRY; // the next attempt's checkIfMatch answers 412 if the app moved on
  }, () => new ConflictError('The app was changed concurrently too often; retry the request'));
}

/** PATCH /v1/apps/{appId} (Settings): records each changed field's old and new value. */
export function updateSettings(caller: Actor, appId: string, patch: SettingsPatch, ifMatch: string | undefined, now: number, kind: ActorKind = 'user') {
  return changeApp(caller, appId, ifMatch, now, (app) => settingsChange(app, patch), kind);
}

/** The settings of `patch` that differ from the app's, each with its old and new value for the audit event; undefined when none does. */
function settingsChange(app: App, patch: SettingsPatch) {
  const changed = Object.fromEntries(
    Object.entries(patch).filter(([field, value]) => value !== undefined && !sameValue(value, app[field as keyof SettingsPatch])),
  ) as SettingsPatch;
  if (Object.keys(changed).length === 0) return undefined;
  const changes = Object.fromEntries(Object.entries(changed).map(([field, to]) => [field, { from: app[field as keyof SettingsPatch], to }]));
  return { patch: changed, event: 'app.settings.updated' as const, details: { changes } };
}

/**
 * PUT /v1/apps/{appId}: the authorization server declares one of its clients. Created (with the
 * default policies) when the org has no such app, else the settings it names are changed; the
 * same declaration again writes nothing. Audited with the AS as actor (kind `client`).
 */
export async function declareClient(caller: Actor, appId: string, declaration: ClientDeclaration, now: number): Promise<{ created: boolean; app: App & AppCounters }> {
  return retrying(async () => {
    const current = await getAppWithCounters(caller.orgId, appId);
    if (current) return { created: false, app: await updateSettings(caller, appId, declaration, undefined, now, 'client') };
    const { name, description = null, callbackUrls = [], scopes = [] } = declaration;
    const app = newAppRecord(caller.orgId, appId, { name, description, contactEmail: null, callbackUrls, scopes, policies: defaultPolicies() }, now);
    const event = auditEvent(caller, 'app.created', { appId, details: { name: app.name, policies: app.policies } }, now, 'client');
    // Another declaration (or an admin) created it first: read it again and change it instead.
    if (!(await insertApp(app, [recordEvent(event)]))) return RETRY;
    return { created: true, app: { ...app, userCount: 0, activeTokenCount: 0 } };
  }, () => new ConflictError('The app was changed concurrently too often; retry the request'));
}

/** GET /v1/apps/{appId}/policies: the policies object itself, as PUT …/policies takes it (for the AS to apply at issuance). */
export async function getPolicies(orgId: string, appId: string): Promise<Policies> {
  return policiesView((await getAppDetail(orgId, appId)).policies);
}

/**
 * POST /v1/apps/{appId}/unblock: registrations are taken again. What the block revoked stays
 * revoked (its epoch is past), and so do JWTs of trusted issuers issued while it was blocked: the
 * app's time watermark moves to now. Not blocked: nothing changes.
 */
export async function unblockApp(actor: Actor, appId: string, reason: string | undefined, now: number): Promise<App & AppCounters> {
  return retrying(async () => {
    const app = await getAppWithCounters(actor.orgId, appId);
    if (!app) throw new NotFoundError(`App ${appId}`);
    if (!app.blocked) return app;
    const event = auditEvent(actor, 'app.unblocked', { appId, ...(reason ? { reason } : {}) }, now);
    if (!(await commit([...unblockAppWrites(actor.orgId, appId, app.revokeEpoch, iso(now)), recordEvent(event)]))) return RETRY;
    return { ...app, blocked: false };
  }, () => new ConflictError('The app was changed concurrently too often; retry the request'));
}
