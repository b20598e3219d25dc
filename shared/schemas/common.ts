/**
 * Schemas use zod's tree-shakable "mini" API: the classic API bundles every locale and feature
 * (about 450 KB minified) into each function, where this costs about 25 KB.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ValidationError } from '../errors.js';
import { isCanonicalTime } from '../time.js';

// zod/mini carries no messages of its own; the English ones name what was expected. (Import
// `z` from 'zod/mini' in each module, never re-export the namespace: that defeats tree-shaking.)
z.config(en());

// Every exported schema is built on first use (`z.lazy`): building them all when a module loads
// was most of what a function's cold import costs above the AWS SDK, and each function parses
// only its own route's inputs. Shapes that others extend are functions that build a fresh copy.

/** appId, userId, orgId: 1–128 of A–Z a–z 0–9 . _ - @ + :, first char alphanumeric (never `#`, the key separator). */
export const idSchema = z.lazy(() => z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._\-@+:]{0,127}$/, 'must be 1–128 characters of A–Z a–z 0–9 . _ - @ + : starting with a letter or digit'),
));

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const scopeTokenSchema = z.lazy(() => z.string().check(z.regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/, 'must be an RFC 6749 scope token')));

/**
 * An RFC 3339 time with any offset, stored and echoed in one canonical form: UTC with milliseconds,
 * `YYYY-MM-DDTHH:mm:ss.sssZ`. A time that falls outside the years 0000–9999 once in UTC (say
 * `9999-12-31T23:59:59-23:59`) has no such form and is refused: it would sort before every real time.
 */
export const timestampSchema = z.lazy(() => z.pipe(z.iso.datetime({ offset: true }), z.transform((s: string, ctx) => {
  const canonical = new Date(s).toISOString();
  if (isCanonicalTime(canonical)) return canonical;
  ctx.issues.push({ code: 'custom', message: 'must fall within the years 0000–9999 in UTC', input: s });
  return z.NEVER;
})));

/** An integer between min and max (inclusive). */
export const intBetween = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

/** A string of min–max characters. */
export const stringBetween = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
/** The same, trimmed first. */
export const trimmedBetween = (min: number, max: number) => z.string().check(z.trim(), z.minLength(min), z.maxLength(max));

/** `limit` and `cursor`, for a list's query schema to extend. */
export const listQueryShape = () => ({
  limit: z._default(z.pipe(z.coerce.number(), intBetween(1, 100)), 50),
  cursor: z.optional(stringBetween(1, 2048)),
});
export const listQuerySchema = z.lazy(() => z.strictObject(listQueryShape()));

/** Turns zod issues into field errors; `root` prefixes each path (e.g. `body`, `query`). */
export function parse<S extends z.ZodMiniType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      return keys.map((key) => ({
        path: [root, ...issue.path.map(String), ...(key === undefined ? [] : [key])].join('.'),
        message: issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message,
      }));
    }).flat(),
  );
}
