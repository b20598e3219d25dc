import * as v from 'valibot';
import { documentedWith, listQuerySchema, type Output, stringBetween } from './common.js';

export const tokenTypeSchema = v.picklist(['access', 'refresh']);
export type TokenType = Output<typeof tokenTypeSchema>;

/** A raw token value as the authorization server issued it. */
export const rawTokenSchema = v.pipe(stringBetween(16, 4096), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'));

/** An audience: a resource server's identifier (usually its URL), printable ASCII. */
export const audienceSchema = v.pipe(stringBetween(1, 512), v.regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces'));

/** A base64url SHA-256 thumbprint: 43 characters. */
const thumbprintSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint (43 characters)'));

/** RFC 7800 `cnf` of a sender-constrained token: a DPoP key's or a client certificate's thumbprint, at least one. */
export const confirmationSchema = v.pipe(
  v.strictObject({ jkt: v.optional(thumbprintSchema), 'x5t#S256': v.optional(thumbprintSchema) }),
  v.check((cnf) => cnf.jkt !== undefined || cnf['x5t#S256'] !== undefined, 'must hold jkt or x5t#S256'),
  documentedWith({ minProperties: 1 }),
);
export type Confirmation = Output<typeof confirmationSchema>;

/** RFC 7662 §2.1 / RFC 7009 §2.1 form body. Unknown hints are ignored, as both RFCs allow. */
export const oauthTokenFormSchema = v.object({
  token: v.pipe(v.string('is required'), v.minLength(1, 'is required'), v.maxLength(4096)),
  token_type_hint: v.optional(v.pipe(v.string(), v.maxLength(64), v.description('Ignored (RFC 7662 §2.1, RFC 7009 §2.1).'))),
});

export const userTokensQuerySchema = listQuerySchema;

