import { appDetailSchema, appPathSchema, createAppSchema, ifMatchHeadersSchema, policiesSchema, updateSettingsSchema } from '../schemas/apps.js';
import { defineRoute } from './define.js';
import { examples } from './examples.js';

const noSuchApp = { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] } as const;
const changedTooOften = {
  description: '`conflict`: the app was changed concurrently too often; retry.',
  problems: [{ type: 'conflict', detail: 'The app was changed concurrently too often; retry the request' }],
} as const;

export const createApp = defineRoute({
  method: 'POST', path: '/v1/apps', handler: 'create-app', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Create an app',
  description: 'Create an app: `{ appId?, name, description?, contactEmail?, callbackUrls?, scopes?, policies? }`; without an `appId` the service picks one. Answers 201 with `Location` and `ETag`.',
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
      example: { ...examples.app, userCount: 0, activeTokenCount: 0, lastUsedAt: null, updatedAt: examples.app.createdAt },
    },
    409: { description: '`conflict`: an app with this `appId` exists in the org.', problems: [{ type: 'conflict', detail: 'An app with appId crm-sync already exists' }] },
  },
});

export const getApp = defineRoute({
  method: 'GET', path: '/v1/apps/{appId}', handler: 'get-app', scopes: ['usage:read'], table: 'RO',
  tag: 'apps', summary: 'App detail (ETag)',
  description: 'App detail with live `userCount`, `activeTokenCount`, `lastUsedAt`, and an `ETag` for changes.',
  input: { path: appPathSchema },
  answers: {
    200: { description: 'The app.', schema: appDetailSchema, headers: ['ETag'], example: examples.app },
    404: noSuchApp,
  },
});

export const updateSettings = defineRoute({
  method: 'PATCH', path: '/v1/apps/{appId}', handler: 'update-settings', scopes: ['apps:manage'], table: 'RW',
  tag: 'apps', summary: 'Settings tab — change any of name, description, contactEmail, callbackUrls, scopes',
  description: '**Settings**: any of name, description, contactEmail, callbackUrls, scopes; `If-Match` honoured (412). A change that changes nothing answers the app as it is: no new version, no audit event.',
  input: {
    path: appPathSchema,
    headers: ifMatchHeadersSchema,
    body: {
      schema: updateSettingsSchema, media: 'application/json',
      example: { description: 'Hourly CRM export', callbackUrls: ['https://crm.example.com/oauth/callback', 'https://crm.example.com/oauth/cb2'] },
    },
  },
  answers: {
    200: { description: 'The app, with its new ETag.', schema: appDetailSchema, headers: ['ETag'], example: examples.app },
    404: noSuchApp,
    409: changedTooOften,
  },
});

export const replacePolicies = defineRoute({
  method: 'PUT', path: '/v1/apps/{appId}/policies', handler: 'replace-policies', scopes: ['apps:manage'], table: 'RW', enqueues: true,
  tag: 'apps', summary: 'Policies tab, Edit — replace the policies; they apply to existing tokens at once',
  description: '**Policies**: replace them (omitted fields take their defaults); `If-Match` honoured (412). The same policies again change nothing: no new version, no audit event.',
  input: { path: appPathSchema, headers: ifMatchHeadersSchema, body: { schema: policiesSchema, media: 'application/json', example: examples.policies } },
  answers: {
    200: { description: 'The app, with its new ETag.', schema: appDetailSchema, headers: ['ETag'], example: examples.app },
    404: noSuchApp,
    409: changedTooOften,
  },
});
