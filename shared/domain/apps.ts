import { randomBytes } from 'node:crypto';
import { getAppWithCounters, insertApp } from '../db/apps.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { CreateAppInput } from '../schemas/apps.js';
import type { App, AppCounters } from './model.js';

export function appDetailView(app: App & AppCounters) {
  return {
    appId: app.appId,
    name: app.name,
    description: app.description,
    contactEmail: app.contactEmail,
    callbackUrls: app.callbackUrls,
    scopes: app.scopes,
    policies: app.policies,
    userCount: app.userCount,
    activeTokenCount: app.activeTokenCount,
    lastUsedAt: app.lastUsedAt,
    createdAt: app.createdAt,
    updatedAt: app.updatedAt,
  };
}

/** Strong ETag of an app's settings and policies. */
export const etagOf = (app: Pick<App, 'version'>) => `"v${app.version}"`;

const newAppId = () => `app_${randomBytes(10).toString('hex')}`;

export async function createApp(orgId: string, input: CreateAppInput, now: number): Promise<App & AppCounters> {
  const at = new Date(now).toISOString();
  const { appId = newAppId(), ...settings } = input;
  const app: App = { orgId, appId, ...settings, createdAt: at, updatedAt: at, version: 1, revokeEpoch: 0, lastUsedAt: null };
  if (!(await insertApp(app))) throw new ConflictError(`An app with appId ${appId} already exists`);
  return { ...app, userCount: 0, activeTokenCount: 0 };
}

export async function getAppDetail(orgId: string, appId: string): Promise<App & AppCounters> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app) throw new NotFoundError(`App ${appId}`);
  return app;
}
