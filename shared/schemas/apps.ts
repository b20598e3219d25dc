import * as z from 'zod/mini';
import { idSchema, intBetween, listQueryShape, scopeTokenSchema, stringBetween, trimmedBetween } from './common.js';

const durationUnit = () => z.enum(['minutes', 'hours', 'days']);

export const refreshTokenPolicySchema = z.lazy(() => z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('until-revoked') }),
  z.strictObject({ mode: z.literal('expire-immediately') }),
  z.strictObject({ mode: z.literal('expire-after'), value: intBetween(1, 36500), unit: durationUnit() }),
  z.strictObject({ mode: z.literal('expire-if-unused'), value: intBetween(1, 36500), unit: durationUnit() }),
]));

const minutesOrNull = () => z._default(z.nullable(intBetween(1, 525_600)), null);

export const policiesSchema = z.lazy(() => z.strictObject({
  refreshTokenPolicy: z._default(refreshTokenPolicySchema, { mode: 'until-revoked' as const }),
  /** Caps an access token's expiry at registration; null means the authorization server decides. */
  accessTokenLifetimeMinutes: minutesOrNull(),
  permittedUsers: z._default(z.enum(['all-users-self-authorize', 'admin-approved-pre-authorized']), 'all-users-self-authorize'),
  ipRelaxation: z._default(z.enum(['enforce', 'relax-for-refresh', 'relax']), 'enforce'),
  sessionTimeoutMinutes: minutesOrNull(),
}));

export type Policies = z.output<typeof policiesSchema>;
export type RefreshTokenPolicy = z.output<typeof refreshTokenPolicySchema>;

const callbackUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .check(z.maxLength(2048), z.refine((u) => !u.includes('#'), 'must not contain a fragment'));

const appSettingsShape = () => ({
  // Control characters are refused: name-ordered keys use U+0000 as their separator.
  // eslint-disable-next-line no-control-regex
  name: trimmedBetween(1, 255).check(z.regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')),
  description: z.nullable(z.string().check(z.maxLength(2000))),
  contactEmail: z.nullable(z.email().check(z.maxLength(320))),
  callbackUrls: z.array(callbackUrl()).check(z.maxLength(50)),
  scopes: z.array(scopeTokenSchema).check(z.maxLength(100)),
});

export const createAppSchema = z.lazy(() => {
  const settings = appSettingsShape();
  return z.strictObject({
    appId: z.optional(idSchema),
    name: settings.name,
    description: z._default(settings.description, null),
    contactEmail: z._default(settings.contactEmail, null),
    callbackUrls: z._default(settings.callbackUrls, []),
    scopes: z._default(settings.scopes, []),
    policies: z._default(policiesSchema, () => policiesSchema.parse({})),
  });
});

export type CreateAppInput = z.output<typeof createAppSchema>;

export const appPathSchema = z.lazy(() => z.strictObject({ appId: idSchema }));

/** PATCH /v1/apps/{appId} (Settings tab): one or more of the settings. */
export const updateSettingsSchema = z.lazy(() => {
  const settings = appSettingsShape();
  return z
    .strictObject({
      name: z.optional(settings.name),
      description: z.optional(settings.description),
      contactEmail: z.optional(settings.contactEmail),
      callbackUrls: z.optional(settings.callbackUrls),
      scopes: z.optional(settings.scopes),
    })
    .check(z.refine((patch) => Object.values(patch).some((v) => v !== undefined), 'must change at least one of name, description, contactEmail, callbackUrls, scopes'));
});

export type SettingsPatch = z.output<typeof updateSettingsSchema>;

const booleanParameter = () => z.pipe(z.enum(['true', 'false']), z.transform((v) => v === 'true'));

export const listAppsQuerySchema = z.lazy(() => z.strictObject({
  ...listQueryShape(),
  all: z._default(booleanParameter(), false),
  q: z.optional(stringBetween(1, 255)),
}));
