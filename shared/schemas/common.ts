import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** appId, userId, orgId: 1–128 of A–Z a–z 0–9 . _ - @ + :, first char alphanumeric (never `#`, the key separator). */
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-@+:]{0,127}$/, 'must be 1–128 characters of A–Z a–z 0–9 . _ - @ + : starting with a letter or digit');

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const scopeTokenSchema = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/, 'must be an RFC 6749 scope token');

/** ISO 8601 timestamp with an offset; normalised to UTC with milliseconds. */
export const timestampSchema = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});

/** Turns zod issues into field errors; `root` prefixes each path (e.g. `body`, `query`). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = schema.safeParse(value);
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
