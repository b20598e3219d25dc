import { z } from 'zod';
import { idSchema, listQuerySchema, scopeTokenSchema } from './common.js';

const durationUnit = z.enum(['minutes', 'hours', 'days']);

export const refreshTokenPolicySchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('until-revoked') }),
  z.strictObject({ mode: z.literal('expire-immediately') }),
  z.strictObject({ mode: z.literal('expire-after'), value: z.number().int().min(1).max(36500), unit: durationUnit }),
  z.strictObject({ mode: z.literal('expire-if-unused'), value: z.number().int().min(1).max(36500), unit: durationUnit }),
]);

export const policiesSchema = z.strictObject({
  refreshTokenPolicy: refreshTokenPolicySchema.default({ mode: 'until-revoked' }),
  /** Caps an access token's expiry at registration; null means the authorization server decides. */
  accessTokenLifetimeMinutes: z.number().int().min(1).max(525_600).nullable().default(null),
  permittedUsers: z.enum(['all-users-self-authorize', 'admin-approved-pre-authorized']).default('all-users-self-authorize'),
  ipRelaxation: z.enum(['enforce', 'relax-for-refresh', 'relax']).default('enforce'),
  sessionTimeoutMinutes: z.number().int().min(1).max(525_600).nullable().default(null),
});

export type Policies = z.output<typeof policiesSchema>;
export type RefreshTokenPolicy = z.output<typeof refreshTokenPolicySchema>;

const callbackUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .refine((u) => !u.includes('#'), 'must not contain a fragment');

export const appSettingsShape = {
  // Control characters are refused: name-ordered keys use U+0000 as their separator.
  // eslint-disable-next-line no-control-regex
  name: z.string().trim().min(1).max(255).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
  description: z.string().max(2000).nullable(),
  contactEmail: z.email().max(320).nullable(),
  callbackUrls: z.array(callbackUrl).max(50),
  scopes: z.array(scopeTokenSchema).max(100),
};

export const createAppSchema = z.strictObject({
  appId: idSchema.optional(),
  name: appSettingsShape.name,
  description: appSettingsShape.description.default(null),
  contactEmail: appSettingsShape.contactEmail.default(null),
  callbackUrls: appSettingsShape.callbackUrls.default([]),
  scopes: appSettingsShape.scopes.default([]),
  policies: policiesSchema.default(policiesSchema.parse({})),
});

export type CreateAppInput = z.output<typeof createAppSchema>;

export const appPathSchema = z.strictObject({ appId: idSchema });

/** PATCH /v1/apps/{appId} (Settings tab): one or more of the settings. */
export const updateSettingsSchema = z
  .strictObject({
    name: appSettingsShape.name.optional(),
    description: appSettingsShape.description.optional(),
    contactEmail: appSettingsShape.contactEmail.optional(),
    callbackUrls: appSettingsShape.callbackUrls.optional(),
    scopes: appSettingsShape.scopes.optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), 'must change at least one of name, description, contactEmail, callbackUrls, scopes');

export type SettingsPatch = z.output<typeof updateSettingsSchema>;

const booleanParameter = z.enum(['true', 'false']).transform((v) => v === 'true');

export const listAppsQuerySchema = listQuerySchema.extend({
  all: booleanParameter.default(false),
  q: z.string().min(1).max(255).optional(),
});
