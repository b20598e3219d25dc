import * as v from 'valibot';
import { policiesSchema } from './policies.js';
import {
  booleanParameter, documentedAs, isHttpUrl, documentedWith, idSchema, listQueryShape, scopeTokenSchema, stringBetween, trimmedBetween, type Output,
} from './common.js';

const callbackUrl = v.pipe(
  v.string(), v.trim(), v.check(isHttpUrl, 'must be an http(s) URL'), v.maxLength(2048),
  v.check((u) => !u.includes('#'), 'must not contain a fragment'),
  documentedAs({ type: 'string', format: 'uri', maxLength: 2048, description: 'An http(s) URL without a fragment.' }),
);

const appSettings = {
  // Control characters are refused: name-ordered keys use U+0000 as their separator.
  // eslint-disable-next-line no-control-regex
  name: v.pipe(trimmedBetween(1, 255), v.regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')),
  description: v.nullable(v.pipe(v.string(), v.maxLength(2000))),
  contactEmail: v.nullable(v.pipe(v.string(), v.email('must be an email address'), v.maxLength(320))),
  callbackUrls: v.pipe(v.array(callbackUrl), v.maxLength(50)),
  scopes: v.pipe(v.array(scopeTokenSchema), v.maxLength(100)),
};

export const createAppSchema = v.strictObject({
  appId: v.optional(idSchema),
  name: appSettings.name,
  description: v.optional(appSettings.description, null),
  contactEmail: v.optional(appSettings.contactEmail, null),
  callbackUrls: v.optional(appSettings.callbackUrls, []),
  scopes: v.optional(appSettings.scopes, []),
  policies: v.optional(policiesSchema, {}),
});

export type CreateAppInput = Output<typeof createAppSchema>;



/** PATCH /v1/apps/{appId} (Settings tab): one or more of the settings. */
export const updateSettingsSchema = v.pipe(
  v.strictObject({
    name: v.optional(appSettings.name),
    description: v.optional(appSettings.description),
    contactEmail: v.optional(appSettings.contactEmail),
    callbackUrls: v.optional(appSettings.callbackUrls),
    scopes: v.optional(appSettings.scopes),
  }),
  v.check((patch) => Object.values(patch).some((value) => value !== undefined), 'must change at least one of name, description, contactEmail, callbackUrls, scopes'),
  documentedWith({ minProperties: 1 }),
);

export type SettingsPatch = Output<typeof updateSettingsSchema>;

/**
 * PUT /v1/apps/{appId} (the authorization server keeping its clients in step): the name, and any
 * of description, callbackUrls and scopes; the settings left out stay as they are. Policies are
 * the admin's: a `policies` field is an unknown field.
 */
export const declareClientSchema = v.strictObject({
  name: appSettings.name,
  description: v.optional(appSettings.description),
  callbackUrls: v.optional(appSettings.callbackUrls),
  scopes: v.optional(appSettings.scopes),
});

export type ClientDeclaration = Output<typeof declareClientSchema>;


export const listAppsQuerySchema = v.strictObject({
  ...listQueryShape,
  all: v.optional(v.pipe(booleanParameter, v.description('`true`: every app of the org, not only those holding active tokens.')), 'false'),
  q: v.optional(v.pipe(stringBetween(1, 255), v.description('Case-insensitive name prefix.'))),
});

/** `If-Match` on a change: an ETag of GET /v1/apps/{appId} (or `*`); a stale one answers 412. */
export const ifMatchHeadersSchema = v.object({
  'if-match': v.optional(v.pipe(v.string(), v.maxLength(1024, 'must be at most 1024 characters'), v.description('An ETag from GET /v1/apps/{appId}, or *; 412 when stale.'))),
});
