/**
 * Schemas use valibot: each schema and check is a function of its own, so a function bundles only
 * what its route parses (about 10 KB), where zod's core came to about 38 KB in every function and
 * most of what a cold import cost above the AWS SDK. Building a schema is a plain object literal,
 * cheap enough to do when a module loads.
 */
import * as v from 'valibot';
import { ValidationError } from '../errors.js';
import { isCanonicalTime } from '../time.js';

/**
 * How a schema appears in the API document when valibot's own conversion cannot say it (a check,
 * a transform): `npm run openapi` replaces what the pipe said up to here with this JSON Schema.
 * Place it last, or just before the first transformation. Metadata only: nothing is checked.
 */
export const documentedAs = <T>(jsonSchema: Record<string, unknown>) => v.metadata<T, { readonly openapi: Record<string, unknown> }>({ openapi: jsonSchema });
/** The same, adding JSON Schema keywords to what the pipe says (a check the keywords can state). */
export const documentedWith = <T>(keywords: Record<string, unknown>) => v.metadata<T, { readonly openapiWith: Record<string, unknown> }>({ openapiWith: keywords });

/**
 * One of two object schemas, picked by whether the input has `key`, so that a client's mistake is
 * reported against the fields of the shape it meant (a union would say only that neither
 * matched). The document shows it as `oneOf` the two (scripts/openapi/document.ts reads `oneOf`).
 */
export function eitherBy<A extends v.GenericSchema, B extends v.GenericSchema>(key: string, withKey: A, without: B) {
  const pick = (input: unknown): A | B => (typeof input === 'object' && input !== null && key in input ? withKey : without);
  return Object.assign(v.lazy(pick), { oneOf: [withKey, without] as const });
}

/**
 * appId, userId, orgId as real authorization servers make them (`auth0|abc123`, `_k3jX-9`, `-x7`,
 * UUIDs, `ada+test@example.com`): 1–255 printable ASCII characters but space and `/ ? # % \`, which
 * a path cannot carry in one segment decoded once; `.` and `..` are path steps, not ids. `#` is
 * the keys' separator; shared/db/table.ts's `keyPart` escapes what sorts below it.
 */
export const idSchema = v.pipe(
  v.string(),
  v.regex(/^[\x21\x22\x24\x26-\x2E\x30-\x3E\x40-\x5B\x5D-\x7E]{1,255}$/, 'must be 1–255 printable ASCII characters other than space and / ? # % \\'),
  v.check((id) => id !== '.' && id !== '..', 'must not be . or ..'),
  documentedAs({ type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21\\x22\\x24\\x26-\\x2E\\x30-\\x3E\\x40-\\x5B\\x5D-\\x7E]{1,255}$', not: { enum: ['.', '..'] }, examples: ['ada@example.com'] }),
);

/** Public token ids are 22 base64url characters, after `<key version>.` once the secret was rotated (see shared/crypto.ts). */
export const tokenIdSchema = v.pipe(
  v.string(), v.regex(/^(?:[1-9]\d{0,3}\.)?[A-Za-z0-9_-]{22}$/, 'must be a token id'),
  v.description('22 base64url characters, in the one spelling the service gives out, after `<key version>.` for tokens registered once the service secret was rotated. Another spelling of the same bytes names no token.'),
);

/** Revocation job ids: `job_`, a time in base 36, and random hex. */
export const jobIdSchema = v.pipe(v.string(), v.regex(/^job_[0-9a-z]{10}[0-9a-f]{12}$/, 'must be a job id'), v.examples(['job_00mx1hp3cpf0e3b17a98c4']));

/** Audit export ids: `exp_`, a time in base 36, and random hex. */
export const exportIdSchema = v.pipe(v.string(), v.regex(/^exp_[0-9a-z]{10}[0-9a-f]{12}$/, 'must be an export id'), v.examples(['exp_00mx1hp3cpf0e3b17a98c4']));

/**
 * The routes' path parameters (ids each), here so that a route of one area loads no other area's schemas.
 * Marked pure so that a bundle drops those it does not use (esbuild does not carry valibot's own
 * annotations across modules).
 */
export const appPathSchema = /* @__PURE__ */ v.strictObject({ appId: idSchema });
export const userPathSchema = /* @__PURE__ */ v.strictObject({ userId: idSchema });
export const userTokensPathSchema = /* @__PURE__ */ v.strictObject({ appId: idSchema, userId: idSchema });
export const clientTokenPathSchema = /* @__PURE__ */ v.strictObject({ appId: idSchema, tokenId: tokenIdSchema });
export const approvedUserPathSchema = /* @__PURE__ */ v.strictObject({ appId: idSchema, userId: idSchema });
export const tokenPathSchema = /* @__PURE__ */ v.strictObject({ appId: idSchema, userId: idSchema, tokenId: tokenIdSchema });
export const jobPathSchema = /* @__PURE__ */ v.strictObject({ jobId: jobIdSchema });
export const exportPathSchema = /* @__PURE__ */ v.strictObject({ exportId: exportIdSchema });

/** An absolute http(s) URL. */
export const isHttpUrl = (u: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
};

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const scopeTokenSchema = v.pipe(v.string(), v.regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/, 'must be an RFC 6749 scope token'));

/** RFC 3339 date-time with seconds and an offset (`Z` or ±hh:mm), the date checked against the calendar. */
const RFC3339 = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const isRfc3339 = (s: string) => {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= daysInMonth;
};

/** A calendar day, `YYYY-MM-DD` (UTC where it names a day of usage), checked against the calendar. */
export const daySchema = v.pipe(
  v.string(),
  v.check((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && isRfc3339(`${s}T00:00:00Z`), 'must be a date, YYYY-MM-DD'),
  documentedAs({ type: 'string', format: 'date', examples: ['2026-11-28'] }),
);

/**
 * An RFC 3339 time with any offset, stored and echoed in one canonical form: UTC with milliseconds,
 * `YYYY-MM-DDTHH:mm:ss.sssZ`. A time that falls outside the years 0000–9999 once in UTC (say
 * `9999-12-31T23:59:59-23:59`) has no such form and is refused: it would sort before every real time.
 */
export const timestampSchema = v.pipe(
  v.string(),
  v.toUpperCase(), // RFC 3339 §5.6 allows a lower-case `t` and `z`
  v.check(isRfc3339, 'must be an RFC 3339 date-time with an offset, e.g. 2030-01-31T12:00:00Z'),
  documentedAs({ $ref: '#/components/schemas/Timestamp' }),
  v.transform((s) => new Date(s).toISOString()), // well-formed by now, so a valid Date
  v.check(isCanonicalTime, 'must fall within the years 0000–9999 in UTC'),
);

/** An integer between min and max (inclusive). */
export const intBetween = (min: number, max: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));

/** A string of min–max characters. */
export const stringBetween = (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max));
/** The same, trimmed first. */
export const trimmedBetween = (min: number, max: number) => v.pipe(v.string(), v.trim(), v.minLength(min), v.maxLength(max));

/** A query parameter holding a whole number between min and max (the default is a parameter too: it is parsed). */
export const intParameter = (min: number, max: number) => v.pipe(v.string(), v.regex(/^\d{1,9}$/, 'must be a whole number'), documentedAs({ type: 'integer', minimum: min, maximum: max }), v.transform(Number), v.minValue(min), v.maxValue(max));

/** `limit` and `cursor`, for a list's query schema to extend. */
export const listQueryShape = {
  limit: v.optional(v.pipe(intParameter(1, 100), v.description('Items per page.')), '50'),
  cursor: v.optional(v.pipe(stringBetween(1, 2048), v.description('Opaque; from `nextCursor` of the previous page of the same list and filters.'))),
};
export const listQuerySchema = v.strictObject(listQueryShape);

export type Output<S extends v.GenericSchema> = v.InferOutput<S>;

/** `true` or `false` in a query string. */
export const booleanParameter = v.pipe(v.picklist(['true', 'false']), v.transform((value) => value === 'true'));

/** What an issue says of its field: valibot's message, or ours for a missing or unknown field. */
function messageOf(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'schema' && issue.path?.at(-1)?.origin === 'key') return issue.expected === 'never' ? 'unknown field' : 'is required';
  return issue.message;
}

/** Turns validation issues into field errors; `root` prefixes each path (e.g. `body`, `query`). */
export function parse<S extends v.GenericSchema>(schema: S, value: unknown, root: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  throw new ValidationError(result.issues.map((issue) => ({
    path: [root, ...(issue.path ?? []).map((p) => String(p.key))].join('.'),
    message: messageOf(issue),
  })));
}
