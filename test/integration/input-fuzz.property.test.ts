import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { as, call, createApp, rawToken, register, type CallOptions } from '../support/api.js';
import { createTokenHasher, singleKey } from '../../shared/crypto.js';
import type { RouteName } from '../../shared/routes.js';

/**
 * No client input produces a 5xx: generated bodies (near-valid and arbitrary) thrown at the
 * machine endpoints and the revocation endpoints, with real tokens and ids of this org mixed in
 * (their aliases, a token naming itself as its parent, ids of revoked tokens) to reach deep paths.
 */
const org = 'org-fuzz';
const appId = 'fuzz';
const known = { raws: [] as string[], ids: [] as string[] };

beforeAll(async () => {
  await createApp(org, appId);
  for (const type of ['refresh', 'access', 'refresh'] as const) {
    const token = rawToken('fuzz');
    const reply = await register(org, { token, type, appId, userId: 'ada' });
    known.raws.push(token);
    known.ids.push(reply.body.tokenId as string);
  }
  // One revoked, so tombstones and dead parents are in reach too.
  await call('revoke', { claims: as(org), form: { token: known.raws[2] as string } });
});

const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const alias = (id: string, bits: number) => `${id.slice(0, -1)}${base64url[(base64url.indexOf(id.slice(-1)) & ~15) | (bits & 15)]}`;
const tokenIdLike = fc.oneof(
  fc.constantFrom(...['', 'x']).map((s) => s),
  fc.string({ unit: fc.constantFrom(...base64url), minLength: 22, maxLength: 22 }),
  fc.tuple(fc.nat(2), fc.nat(15)).map(([i, bits]) => alias(known.ids[i] as string, bits)),
  fc.nat(2).map((i) => known.ids[i] as string),
);
const rawLike = fc.oneof(fc.string({ maxLength: 80 }), fc.nat(2).map((i) => known.raws[i] as string), fc.string({ minLength: 16, maxLength: 40 }).map((s) => `fuzz-${s}`));
const idLike = fc.oneof(fc.constantFrom(appId, 'ada', 'bob', 'missing', '', '#', 'a/b', 'é', ' x', 'A'.repeat(129)), fc.string({ maxLength: 20 }));
const timeLike = fc.oneof(
  fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('9999-12-31T23:59:59-23:59', '2026-13-01T00:00:00Z', 'tomorrow', '2027-01-01T00:00:00+14:00'),
  fc.string({ maxLength: 30 }),
);
/** Anything JSON can carry, for fields given the wrong type. */
const junk = fc.jsonValue({ maxDepth: 2 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, junk), { nil: undefined, freq: 3 });

const registration = fc.record({
  token: maybe(rawLike), type: maybe(fc.constantFrom('access', 'refresh', 'id_token')), appId: maybe(idLike), userId: maybe(idLike),
  userName: maybe(fc.string({ maxLength: 300 })), scopes: maybe(fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 })),
  expiresAt: maybe(timeLike), refreshTokenId: maybe(tokenIdLike), extra: fc.option(junk, { nil: undefined, freq: 5 }),
}, { requiredKeys: [] }).map(({ extra, ...body }) => (extra === undefined ? body : { ...body, extra }));

/** Tokens that name themselves as their refresh token: known ones, and fresh ones whose id is worked out here. */
const hasher = createTokenHasher(singleKey(Buffer.from(process.env.TOKEN_HASH_SECRET as string, 'base64')));
const selfParented = fc.oneof(
  fc.nat(2).map((i) => ({ token: known.raws[i] as string, id: known.ids[i] as string })),
  fc.string({ unit: fc.constantFrom(...base64url), minLength: 16, maxLength: 40 }).map((token) => ({ token, id: hasher.digest(token).tokenId })),
).chain(({ token, id }) => fc.record({ type: fc.constantFrom('access', 'refresh') }).map(({ type }) => ({ token, type, appId, userId: 'ada', refreshTokenId: id })));

const revocation = fc.record({
  userIds: maybe(fc.array(idLike, { maxLength: 5 })), all: maybe(fc.constantFrom(true, false)), reason: maybe(fc.string({ maxLength: 50 })),
  runAt: maybe(timeLike), dryRun: maybe(fc.boolean()),
}, { requiredKeys: [] });

const form = fc.record({ token: maybe(rawLike), token_type_hint: maybe(fc.constantFrom('access_token', 'refresh_token', 'x')) }, { requiredKeys: [] })
  .map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])));

/** A body sent as JSON, or as arbitrary text under a JSON or form content type. */
const asJson = <T>(arb: fc.Arbitrary<T>) => fc.oneof(
  { weight: 4, arbitrary: arb.map((json): CallOptions => ({ json })) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 60 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded')).map(([raw, contentType]): CallOptions => ({ raw, contentType })) },
);

const cases: [RouteName, fc.Arbitrary<CallOptions>][] = [
  ['registerToken', fc.oneof(asJson(registration), selfParented.map((json): CallOptions => ({ json })))],
  ['introspect', fc.oneof(form.map((f): CallOptions => ({ form: f })), fc.string({ maxLength: 60 }).map((raw): CallOptions => ({ raw, contentType: 'application/x-www-form-urlencoded' })))],
  ['revoke', form.map((f): CallOptions => ({ form: f }))],
  ['requestRevocation', fc.tuple(asJson(revocation), idLike, fc.option(fc.string({ maxLength: 300 }), { nil: undefined })).map(([options, id, key]): CallOptions => ({
    ...options, path: { appId: id }, ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
  }))],
  ['revokeUserTokens', fc.tuple(idLike, idLike).map(([a, u]): CallOptions => ({ path: { appId: a, userId: u } }))],
  ['revokeToken', fc.tuple(idLike, idLike, tokenIdLike).map(([a, u, t]): CallOptions => ({ path: { appId: a, userId: u, tokenId: t } }))],
];

describe('no client input produces a 5xx', () => {
  for (const [route, options] of cases) {
    it(route, { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(options, async (o) => {
          const reply = await call(route, { claims: as(org), ...o });
          expect(reply.status, `${route} ${JSON.stringify(o)} → ${reply.text}`).toBeLessThan(500);
        }),
        { numRuns: 150 },
      );
    });
  }
});
