import * as v from 'valibot';
import { counterSchema, instantSchema, nullableInstant, pageOf } from '../schemas/answers.js';
import {
  appPathSchema, idSchema, listQuerySchema, type Output, tokenIdSchema, userPathSchema, userTokensPathSchema,
} from '../schemas/common.js';
import { tokenTypeSchema } from '../schemas/tokens.js';
import { listUsersQuerySchema, usageRangeQuerySchema } from '../schemas/usage.js';
import type { RouteDefinition } from './define.js';

// ---- Answers ----

/** A token as a user's token list shows it: never the raw value or its hash. */
export const tokenSchema = v.object({
  tokenId: tokenIdSchema,
  type: tokenTypeSchema,
  scopes: v.array(v.string()),
  issuedAt: instantSchema,
  expiresAt: nullableInstant,
  lastUsedAt: nullableInstant,
  useCount: counterSchema,
  refreshTokenId: v.nullable(tokenIdSchema),
  grantId: v.pipe(v.nullable(tokenIdSchema), v.description('The grant the token belongs to (the id of its first refresh token): revoking any refresh token of it revokes every token of it. Null for an access token issued without a refresh token.')),
  retiredAt: v.pipe(nullableInstant, v.description('A refresh token replaced by its successor (rotation): no longer active or counted; presented again, it is reuse and revokes the grant.')),
  learnedFrom: v.pipe(v.nullable(idSchema), v.description('A JWT of a trusted issuer, learned when a resource server first presented it (or registered by its id): that issuer\'s id. Null for a token registered by its value.')),
});

export const tokenPageSchema = pageOf(tokenSchema);
export type TokenView = Output<typeof tokenSchema>;

/** A row of Usage by User: first and most recent use, number of uses, tokens held. */
export const usageSchema = v.object({
  userId: idSchema,
  userName: v.nullable(v.string()),
  firstUsedAt: nullableInstant,
  lastUsedAt: nullableInstant,
  useCount: counterSchema,
  activeTokenCount: counterSchema,
});

/** The same for one of a user's apps. */
export const userAppSchema = v.object({ appId: idSchema, ...usageSchema.entries });

/** Usage over time: every day of the range, oldest first, zeros included. */
export const appUsageDaysSchema = v.object({
  days: v.array(v.object({
    date: v.pipe(v.string(), v.description('The day, YYYY-MM-DD (UTC).')),
    uses: v.pipe(counterSchema, v.description('Active introspections of the app\'s tokens that day (its own client\'s included).')),
    activeUsers: v.pipe(counterSchema, v.description('Users with at least one use that day.')),
  })),
});
export const userUsageDaysSchema = v.object({
  days: v.array(v.object({ date: v.pipe(v.string(), v.description('The day, YYYY-MM-DD (UTC).')), uses: v.pipe(counterSchema, v.description('Active introspections of the user\'s tokens for the app that day.')) })),
});

export const usagePageSchema = pageOf(usageSchema);
export const userAppPageSchema = pageOf(userAppSchema);
export type UsageView = Output<typeof usageSchema>;

const usageExample = {
  userId: 'ada@example.com', userName: 'Ada Lovelace', firstUsedAt: '2026-11-02T08:00:00.000Z', lastUsedAt: '2026-11-28T16:30:00.000Z', useCount: 41, activeTokenCount: 3,
} as const;

// ---- Routes ----

export const listAppUsers = {
  method: 'GET', path: '/v1/apps/{appId}/users', handler: 'list-app-users', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'Usage by User — users holding active tokens',
  description: '**Usage by User**: first use, most recent use, number of uses and active tokens of each user; `?sort=userId` (default) or `?sort=-lastUsedAt`. `?q=` searches: the users whose userId starts with it (case-insensitive), by userId, then those whose whole userName does, by userName (with `sort=-lastUsedAt`: 400). A page reads two Queries at most whatever the app\'s size, and may hold fewer items than `limit` while `nextCursor` is not null.',
  input: { path: appPathSchema, query: listUsersQuerySchema },
  answers: {
    200: { description: 'A page of the users holding active tokens.', schema: usagePageSchema, example: { items: [usageExample], nextCursor: null } },
    400: { description: '`validation-error`: a bad parameter, or `q` with `sort=-lastUsedAt`.', problems: [{ type: 'validation-error', detail: 'query.sort: must be userId with q: a search is by userId, then by name' }] },
    404: { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
  },
} as const satisfies RouteDefinition;

export const listUserTokens = {
  method: 'GET', path: '/v1/apps/{appId}/users/{userId}/tokens', handler: 'list-user-tokens', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'A user\'s active tokens for the app',
  description: 'Never the raw token or its hash. 404 when the app is unknown, or the user never held a token of it.',
  input: { path: userTokensPathSchema, query: listQuerySchema },
  answers: {
    200: {
      description: 'A page of the user\'s active tokens, and of the refresh tokens rotated out that have not expired (`retiredAt` set).', schema: tokenPageSchema,
      example: {
        items: [{
          tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', scopes: ['api'], issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T18:00:00.000Z',
          lastUsedAt: '2026-11-28T16:30:00.000Z', useCount: 7, refreshTokenId: 'Zm9vYmFyYmF6cXV4MTIzNA', grantId: 'Zm9vYmFyYmF6cXV4MTIzNA', retiredAt: null, learnedFrom: null,
        }, {
          tokenId: 'Zm9vYmFyYmF6cXV4MTIzNA', type: 'refresh', scopes: ['api'], issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: null,
          lastUsedAt: '2026-11-28T16:00:00.000Z', useCount: 1, refreshTokenId: null, grantId: 'Zm9vYmFyYmF6cXV4MTIzNA', retiredAt: null, learnedFrom: null,
        }],
        nextCursor: null,
      },
    },
    404: { description: '`not-found`: no such app, or the user never held a token of it.', problems: [{ type: 'not-found', detail: 'User ada@example.com of app crm-sync was not found' }] },
  },
} as const satisfies RouteDefinition;

export const listClientTokens = {
  method: 'GET', path: '/v1/apps/{appId}/client-tokens', handler: 'list-client-tokens', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'The app\'s own active tokens (client credentials, no user)',
  description: 'Tokens registered without a `userId`, with the same fields as a user\'s tokens. They count in the app\'s `activeTokenCount`, not in its `userCount`; revoking all of the app\'s tokens takes them too.',
  input: { path: appPathSchema, query: listQuerySchema },
  answers: {
    200: {
      description: 'A page of the client\'s tokens.', schema: tokenPageSchema,
      example: {
        items: [{
          tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', scopes: ['reports:read'], issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T17:00:00.000Z',
          lastUsedAt: '2026-11-28T16:30:00.000Z', useCount: 12, refreshTokenId: null, grantId: null, retiredAt: null, learnedFrom: null,
        }],
        nextCursor: null,
      },
    },
    404: { description: '`not-found`: no such app.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] },
  },
} as const satisfies RouteDefinition;

export const listUserApps = {
  method: 'GET', path: '/v1/users/{userId}/apps', handler: 'list-user-apps', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'The apps a user holds active tokens for, with the usage fields',
  description: 'A user is known by the tokens they hold: a user who holds none in the caller\'s org (or never did, or belongs to another org) gets an empty page, never a 404.',
  input: { path: userPathSchema, query: listQuerySchema },
  answers: {
    200: { description: 'A page of apps with the user\'s usage.', schema: userAppPageSchema, example: () => ({ items: [{ appId: 'crm-sync', ...usageExample }], nextCursor: null }) },
  },
} as const satisfies RouteDefinition;

const badUsageRange = { description: '`validation-error`: a day that is not `YYYY-MM-DD`, `from` after `to`, `to` after today, or a range starting before today − 89 days (usage is kept 90 days).', problems: [{ type: 'validation-error', detail: 'query.from: usage is kept 90 days: the range must start on 2026-09-01 or later' }] } as const;
const unknownApp = { description: '`not-found`: no such app in the caller\'s org.', problems: [{ type: 'not-found', detail: 'App crm-sync was not found' }] } as const;

export const getAppUsage = {
  method: 'GET', path: '/v1/apps/{appId}/usage', handler: 'get-app-usage', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'Usage over time: the app\'s uses and users by day',
  description: 'Day by day (UTC), every day of the range listed, zeros included: the uses (active introspections) that day and the users with at least one. `from` and `to` (`YYYY-MM-DD`) are both inclusive; `from` alone ends today, `to` alone starts 29 days before it, neither is the 30 days ending today. Usage is kept 90 days: a range starting before today − 89 days is a 400. Counted as each use is recorded, so a day is up to date the moment a use is.',
  input: { path: appPathSchema, query: usageRangeQuerySchema },
  answers: {
    200: { description: 'The days of the range, oldest first.', schema: appUsageDaysSchema, example: { days: [{ date: '2026-11-27', uses: 0, activeUsers: 0 }, { date: '2026-11-28', uses: 41, activeUsers: 3 }] } },
    400: badUsageRange,
    404: unknownApp,
  },
} as const satisfies RouteDefinition;

export const getUserUsage = {
  method: 'GET', path: '/v1/apps/{appId}/users/{userId}/usage', handler: 'get-user-usage', scopes: ['usage:read'], table: 'RO',
  tag: 'usage', summary: 'Usage over time: a user\'s uses of the app by day',
  description: 'The same days as the app\'s usage, for one user: their uses of the app each day. Also once the user holds no token any more (a user who never used the app has zeros): 404 only for an unknown app.',
  input: { path: userTokensPathSchema, query: usageRangeQuerySchema },
  answers: {
    200: { description: 'The days of the range, oldest first.', schema: userUsageDaysSchema, example: { days: [{ date: '2026-11-27', uses: 0 }, { date: '2026-11-28', uses: 7 }] } },
    400: badUsageRange,
    404: unknownApp,
  },
} as const satisfies RouteDefinition;
