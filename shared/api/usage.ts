import { appPathSchema, appSummarySchema, listAppsQuerySchema } from '../schemas/apps.js';
import { listQuerySchema, pageOf } from '../schemas/common.js';
import { tokenSchema, userTokensPathSchema } from '../schemas/tokens.js';
import { listUsersQuerySchema, usageSchema, userAppSchema, userPathSchema } from '../schemas/usage.js';
import { defineRoute } from './define.js';
import { examples } from './examples.js';

export const listApps = defineRoute({
  method: 'GET', path: '/v1/apps', handler: 'list-apps', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'OAuth Usage — apps holding active tokens (or every app), by name',
  description: '**OAuth Usage**: the apps holding active tokens (`?all=true`: every app), by name (case-insensitive); `?q=` name prefix.',
  input: { query: listAppsQuerySchema },
  answers: {
    200: {
      description: 'A page of apps, by name.', schema: pageOf(appSummarySchema),
      example: {
        items: [{ appId: 'crm-sync', name: 'CRM Sync', description: 'Nightly CRM export', userCount: 2, activeTokenCount: 5, lastUsedAt: '2026-11-28T16:30:00.000Z' }],
        nextCursor: 'v1.Xk3n9Qp2LmT8wZ5yR7bV1cD4fH6jK0s',
      },
    },
  },
});

export const listAppUsers = defineRoute({
  method: 'GET', path: '/v1/apps/{appId}/users', handler: 'list-app-users', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'Usage by User — users holding active tokens',
  description: '**Usage by User**: first use, most recent use, number of uses and active tokens of each user; `?sort=userId` (default) or `?sort=-lastUsedAt`.',
  input: { path: appPathSchema, query: listUsersQuerySchema },
  answers: {
    200: { description: 'A page of the users holding active tokens.', schema: pageOf(usageSchema), example: { items: [examples.usage], nextCursor: null } },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
  },
});

export const listUserTokens = defineRoute({
  method: 'GET', path: '/v1/apps/{appId}/users/{userId}/tokens', handler: 'list-user-tokens', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'A user\'s active tokens for the app',
  description: 'Never the raw token or its hash. 404 when the app is unknown, or the user never held a token of it.',
  input: { path: userTokensPathSchema, query: listQuerySchema },
  answers: {
    200: {
      description: 'A page of the user\'s active tokens.', schema: pageOf(tokenSchema),
      example: {
        items: [{
          tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', scopes: ['api'], issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T18:00:00.000Z',
          lastUsedAt: '2026-11-28T16:30:00.000Z', useCount: 7, refreshTokenId: 'Zm9vYmFyYmF6cXV4MTIzNA',
        }],
        nextCursor: null,
      },
    },
    404: { description: '`not-found`: no such app, or the user never held a token of it.', problems: [{ type: 'not-found', detail: 'User ada@example.com of app crm-sync was not found' }] },
  },
});

export const listUserApps = defineRoute({
  method: 'GET', path: '/v1/users/{userId}/apps', handler: 'list-user-apps', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'The apps a user holds active tokens for, with the usage fields',
  description: 'A user is known by the tokens they hold: a user who holds none in the caller\'s org (or never did, or belongs to another org) gets an empty page, never a 404.',
  input: { path: userPathSchema, query: listQuerySchema },
  answers: {
    200: { description: 'A page of apps with the user\'s usage.', schema: pageOf(userAppSchema), example: { items: [{ appId: 'crm-sync', ...examples.usage }], nextCursor: null } },
  },
});
