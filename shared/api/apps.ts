import * as v from 'valibot';
import { appCounters, instantSchema, pageOf, viewOf } from '../schemas/answers.js';
import { createAppSchema, declareClientSchema, ifMatchHeadersSchema, listAppsQuerySchema, updateSettingsSchema } from '../schemas/apps.js';
import { appPathSchema, approvedUserPathSchema, idSchema, listQuerySchema, type Output } from '../schemas/common.js';
import { policiesSchema } from '../schemas/policies.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

/** The policies as the service answers them: every field there, defaults applied. */
export const policiesViewSchema = v.required(policiesSchema);

/** An app's detail: settings, policies, counters. */
export const appDetailSchema = v.object({
  appId: idSchema,
  name: v.string(),
  description: v.nullable(v.string()),
  contactEmail: v.nullable(v.string()),
  callbackUrls: v.array(v.string()),
  scopes: v.array(v.string()),
  policies: policiesViewSchema,
  ...appCounters,
  blocked: v.pipe(v.boolean(), v.description('Blocked (`POST …/block`): its tokens were revoked and it takes no new ones until unblocked.')),
  createdAt: instantSchema,
  updatedAt: instantSchema,
});

/** An app in OAuth Usage (the apps list). */
export const appSummarySchema = v.pick(appDetailSchema, ['appId', 'name', 'description', 'userCount', 'activeTokenCount', 'lastUsedAt', 'blocked']);
export const appPageSchema = pageOf(appSummarySchema);

/** A user an admin approved for the app's `admin-approved-pre-authorized` policy. */
export const approvedUserSchema = v.object({ userId: idSchema, approvedAt: instantSchema, approvedBy: v.pipe(v.string(), v.description('The `sub` of the admin who approved the user.')) });
export const approvedUserPageSchema = pageOf(approvedUserSchema);
const approvedUserExample = { userId: 'ada@example.com', approvedAt: '2026-11-28T16:00:00.000Z', approvedBy: 'admin@example.com' } as const;

export type AppDetailView = Output<typeof appDetailSchema>;
export type AppSummaryView = Output<typeof appSummarySchema>;

const policiesExample = {
  refreshTokenPolicy: { mode: 'expire-if-unused', value: 90, unit: 'days' },
  accessTokenLifetimeMinutes: 120, permittedUsers: 'all-users-self-authorize', ipRelaxation: 'enforce', sessionTimeoutMinutes: null, refreshTokenReuseGraceSeconds: 0,
} as const;

/** Shown by every answer that holds an app; the apps list shows part of it. */
export const appExample = {
  appId: 'crm-sync', name: 'CRM Sync', description: 'Nightly CRM export', contactEmail: 'owner@example.com',
  callbackUrls: ['https://crm.example.com/oauth/callback'], scopes: ['api', 'refresh_token'], policies: policiesExample,
  userCount: 2, activeTokenCount: 5, lastUsedAt: '2026-11-28T16:30:00.000Z', blocked: false, createdAt: '2026-11-01T09:00:00.000Z', updatedAt: '2026-11-20T10:15:00.000Z',
} as const;

// ---- Routes ----

const noSuchApp = { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] } as const;
const changedTooOften = {
  description: '`conflict`: the app was changed concurrently too often; retry.',
  problems: [{ type: 'conflict', detail: 'The app was changed concurrently too often; retry the request' }],
} as const;

export const createApp = {
  method: 'POST', path: '/v1/apps', handler: 'create-app', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Create an app',
  description: '`{ appId?, name, description?, contactEmail?, callbackUrls?, scopes?, policies? }`; without an `appId` the service picks one. Answers 201 with `Location` and `ETag`.',
  input: {
    body: {
      schema: createAppSchema, media: 'application/json',
      example: {
        appId: 'crm-sync', name: 'CRM Sync', description: 'Nightly CRM export', contactEmail: 'owner@example.com',
        callbackUrls: ['https://crm.example.com/oauth/callback'], scopes: ['api', 'refresh_token'],
        policies: { refreshTokenPolicy: { mode: 'expire-if-unused', value: 90, unit: 'days' }, accessTokenLifetimeMinutes: 120 },
      },
    },
  },
  answers: {
    201: {
      description: 'Created.', schema: appDetailSchema, headers: ['Location', 'ETag'],
      example: () => ({ ...appExample, userCount: 0, activeTokenCount: 0, lastUsedAt: null, updatedAt: appExample.createdAt }),
    },
    409: { description: '`conflict`: an app with this `appId` exists in the org.', problems: [{ type: 'conflict', detail: 'An app with appId crm-sync already exists' }] },
  },
} as const satisfies RouteDefinition;

export const getApp = {
  method: 'GET', path: '/v1/apps/{appId}', handler: 'get-app', scopes: ['usage:read'], table: 'RO',
  tag: 'apps', summary: 'App detail (ETag)',
  description: 'App detail with live `userCount`, `activeTokenCount`, `lastUsedAt`, and an `ETag` for changes.',
  input: { path: appPathSchema },
  answers: {
    200: { description: 'The app.', schema: appDetailSchema, headers: ['ETag'], example: appExample },
    404: noSuchApp,
  },
} as const satisfies RouteDefinition;

export const updateSettings = {
  method: 'PATCH', path: '/v1/apps/{appId}', handler: 'update-settings', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Settings tab — change any of name, description, contactEmail, callbackUrls, scopes',
  description: '**Settings**: one or more of name, description, contactEmail, callbackUrls, scopes; `If-Match` honoured (412). A change that changes nothing answers the app as it is: no new version, no audit event.',
  input: {
    path: appPathSchema,
    headers: ifMatchHeadersSchema,
    body: {
      schema: updateSettingsSchema, media: 'application/json',
      example: { description: 'Hourly CRM export', callbackUrls: ['https://crm.example.com/oauth/callback', 'https://crm.example.com/oauth/cb2'] },
    },
  },
  answers: {
    200: { description: 'The app, with its new ETag.', schema: appDetailSchema, headers: ['ETag'], example: appExample },
    404: noSuchApp,
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const declareClient = {
  method: 'PUT', path: '/v1/apps/{appId}', handler: 'declare-client', scopes: ['tokens:write'], budget: 'register', table: 'RW',
  tag: 'apps', summary: 'The authorization server keeps its clients in step: create the app, or update the settings it names',
  description: '`{ name, description?, callbackUrls?, scopes? }`. No such app: created with the default policies (201, `Location`). Otherwise the settings named are changed and the others left as they are (200); a declaration that changes nothing writes nothing (no new version, no audit event). Policies stay the admin\'s: a `policies` field is a 400. Audited as `app.created` or `app.settings.updated` with the caller as actor (kind `client`).',
  input: {
    path: appPathSchema,
    body: { schema: declareClientSchema, media: 'application/json', example: { name: 'CRM Sync', callbackUrls: ['https://crm.example.com/oauth/callback'], scopes: ['api', 'offline_access'] } },
  },
  answers: {
    200: { description: 'The app, as it is now.', schema: appDetailSchema, headers: ['ETag'], example: appExample },
    201: {
      description: 'Created, with the default policies.', schema: appDetailSchema, headers: ['Location', 'ETag'],
      example: () => ({ ...appExample, userCount: 0, activeTokenCount: 0, lastUsedAt: null, updatedAt: appExample.createdAt }),
    },
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const getPolicies = {
  method: 'GET', path: '/v1/apps/{appId}/policies', handler: 'get-policies', scopes: ['tokens:write', 'usage:read'], budget: { authorizationServer: 'register', others: 'admin' }, table: 'RO',
  tag: 'apps', summary: 'The app\'s policies, for the authorization server to apply when it issues tokens',
  description: 'The policies object itself, in the shape `PUT /v1/apps/{appId}/policies` takes, every field present. The AS reads `accessTokenLifetimeMinutes` to tell the client the same `expires_in` the service enforces, and `ipRelaxation`, which only the AS can apply.',
  input: { path: appPathSchema },
  answers: {
    200: { description: 'The policies.', schema: policiesViewSchema, example: policiesExample },
    404: noSuchApp,
  },
} as const satisfies RouteDefinition;

export const approveUser = {
  method: 'PUT', path: '/v1/apps/{appId}/approved-users/{userId}', handler: 'approve-user', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Approve a user for the app\'s admin-approved-pre-authorized policy',
  description: 'Under `permittedUsers: admin-approved-pre-authorized`, only approved users may be registered tokens (others: 403 `user-not-approved`). 201 when approved now, 200 (the approval as it was) when approved already. Audited as `app.approved-users.changed`. Approving a user while the policy is `all-users-self-authorize` is kept for when it changes.',
  input: { path: approvedUserPathSchema },
  answers: {
    200: { description: 'Approved already.', schema: approvedUserSchema, example: approvedUserExample },
    201: { description: 'Approved.', schema: approvedUserSchema, example: approvedUserExample },
    404: noSuchApp,
    409: { description: '`conflict`: the approval was changed concurrently too often; retry.', problems: [{ type: 'conflict', detail: 'The approval was changed concurrently too often; retry the request' }] },
  },
} as const satisfies RouteDefinition;

export const withdrawApproval = {
  method: 'DELETE', path: '/v1/apps/{appId}/approved-users/{userId}', handler: 'withdraw-approval', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Withdraw a user\'s approval',
  description: '204 whether or not the user was approved (audited as `app.approved-users.changed` when they were). Tokens the user holds stay active: revoke them too if they must end.',
  input: { path: approvedUserPathSchema },
  answers: { 204: { description: 'Not approved (any more).' }, 404: noSuchApp },
} as const satisfies RouteDefinition;

export const listApprovedUsers = {
  method: 'GET', path: '/v1/apps/{appId}/approved-users', handler: 'list-approved-users', scopes: ['usage:read'], table: 'RO',
  tag: 'apps', summary: 'The users approved for the app, by userId',
  input: { path: appPathSchema, query: listQuerySchema },
  answers: {
    200: { description: 'A page of approved users.', schema: approvedUserPageSchema, example: { items: [approvedUserExample], nextCursor: null } },
    404: noSuchApp,
  },
} as const satisfies RouteDefinition;

export const replacePolicies = {
  method: 'PUT', path: '/v1/apps/{appId}/policies', handler: 'replace-policies', scopes: ['apps:manage'], table: 'RW', enqueues: true,
  tag: 'apps', summary: 'Policies tab, Edit — replace the policies; they apply to existing tokens at once',
  description: '**Policies**: replace them (omitted fields take their defaults); `If-Match` honoured (412). The same policies again change nothing: no new version, no audit event.',
  input: { path: appPathSchema, headers: ifMatchHeadersSchema, body: { schema: policiesSchema, media: 'application/json', example: policiesExample } },
  answers: {
    200: { description: 'The app, with its new ETag.', schema: appDetailSchema, headers: ['ETag'], example: appExample },
    404: noSuchApp,
    409: changedTooOften,
  },
} as const satisfies RouteDefinition;

export const listApps = {
  method: 'GET', path: '/v1/apps', handler: 'list-apps', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'OAuth Usage — apps holding active tokens (or every app), by name',
  description: '**OAuth Usage**: the apps holding active tokens (`?all=true`: every app), by name (case-insensitive); `?q=` name prefix.',
  input: { query: listAppsQuerySchema },
  answers: {
    200: {
      description: 'A page of apps, by name.', schema: appPageSchema,
      example: () => ({ items: [viewOf(appSummarySchema, appExample)], nextCursor: 'v1.Xk3n9Qp2LmT8wZ5yR7bV1cD4fH6jK0s' }),
    },
  },
} as const satisfies RouteDefinition;
