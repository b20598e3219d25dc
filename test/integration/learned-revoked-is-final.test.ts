import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, call } from '../support/api.js';
import { epoch, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';

/**
 * Revoked is final for learned tokens too: no other spelling of a revoked JWT (its signature
 * written another way, a token id as a number), no registration by value beside it, no new trust
 * of its issuer (after a distrust, or with its tokens named by other claims) brings it back; and
 * odd but signed claims are inactive, never an error.
 */
const org = 'org-learned-final';
const admin = as(org, { sub: 'admin@org-learned-final' });
const resourceServer = as(org, { sub: 'orders-api', scope: 'tokens:introspect' });
const authorizationServer = as(org, { sub: 'as@org-learned-final', scope: 'tokens:write' });
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
});
afterAll(async () => idp.close());

const trust = async (issuerId: string, body: Record<string, unknown> = {}, status = 201) => {
  const answer = await call('trustIssuer', { claims: admin, path: { issuerId }, json: { issuer: idp.issuer(issuerId), jwksUri: idp.jwksUri(issuerId), audiences: ['api'], ...body } });
  expect(answer.status, answer.text).toBe(status);
  return answer.body;
};
const introspect = async (token: string) => {
  const answer = await call('introspect', { claims: resourceServer, form: { token } });
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
};
const active = async (token: string) => (await introspect(token)).active;
const rfc7009 = async (token: string) => expect((await call('revoke', { claims: authorizationServer, form: { token } })).status).toBe(200);
const tokensOf = async (appId: string, userId: string) => (await call('listUserTokens', { claims: admin, path: { appId, userId } })).body.items as { tokenId: string }[];
const revokeById = async (appId: string, userId: string, tokenId: string) =>
  expect((await call('revokeToken', { claims: admin, path: { appId, userId, tokenId } })).status).toBe(204);

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same signature spelled another way: the last character's unused low bit set (decoders ignore it). */
const respelled = (jwt: string) => {
  const last = BASE64URL.indexOf(jwt.at(-1) as string);
  return `${jwt.slice(0, -1)}${BASE64URL[last ^ 1]}`;
};
/** ECDSA's other valid signature of the same token: (r, n − s). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const otherEcdsaSignature = (jwt: string) => {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([bytes.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${header}.${payload}.${twin.toString('base64url')}`;
};

describe('a revoked learned token stays revoked', () => {
  it('whatever the spelling of its signature, when it has no token id (stored by what its signature covers)', async () => {
    await trust('no-jti');
    const ecdsaKey = await idp.addKey('ES256'); // served from the first fetch of the issuer's keys on
    const iat = epoch();
    const jwt = await idp.sign({ iss: idp.issuer('no-jti'), aud: 'api', client_id: 'nojticlient', sub: 'ada', scope: 'orders:read', iat, exp: iat + 600 });
    expect(respelled(jwt)).not.toBe(jwt);
    expect(await active(jwt)).toBe(true);
    expect(await active(respelled(jwt))).toBe(true); // the same token, not a second one
    const [token, ...others] = await tokensOf('nojticlient', 'ada');
    expect(others).toEqual([]);
    await revokeById('nojticlient', 'ada', token!.tokenId);
    expect(await active(jwt)).toBe(false);
    expect(await active(respelled(jwt))).toBe(false);
    expect(await tokensOf('nojticlient', 'ada')).toEqual([]);

    // Revoked by the AS before any resource server saw it: no spelling is learned after.
    const unseen = await idp.sign({ iss: idp.issuer('no-jti'), aud: 'api', client_id: 'nojticlient', sub: 'bob', iat, exp: iat + 600 });
    await rfc7009(unseen);
    expect(await active(respelled(unseen))).toBe(false);

    // ECDSA: the other signature of a token revoked through RFC 7009 is that token too.
    const ecdsa = await idp.sign({ iss: idp.issuer('no-jti'), aud: 'api', client_id: 'nojticlient', sub: 'carol', iat, exp: iat + 600 }, { kid: ecdsaKey });
    expect(await active(otherEcdsaSignature(ecdsa))).toBe(true);
    await rfc7009(ecdsa);
    expect(await active(otherEcdsaSignature(ecdsa))).toBe(false);
    expect(await active(ecdsa)).toBe(false);
  });

  it('registered by its value (its issuer trusted or not), revoked by RFC 7009 or by its id: no other spelling is active, nor learned as a new token', async () => {
    await trust('by-value');
    const ecdsaKey = await idp.addKey('ES256');
    expect((await call('createApp', { claims: admin, json: { appId: 'byvalueclient', name: 'By value' } })).status).toBe(201);
    const iat = epoch();
    const sign = (iss: string, jti: string, kid?: string) => idp.sign({ iss, aud: 'api', client_id: 'byvalueclient', sub: 'ada', jti, iat, exp: iat + 600 }, kid ? { kid } : {});
    const registered = async (jwt: string) => {
      const answer = await call('registerToken', { claims: authorizationServer, json: { token: jwt, type: 'access', appId: 'byvalueclient', userId: 'ada' } });
      expect(answer.status, answer.text).toBe(201);
      return answer.body.tokenId as string;
    };
    for (const iss of [idp.issuer('by-value'), 'https://as.example']) {
      const byRfc7009 = await sign(iss, `${iss}-1`);
      await registered(byRfc7009);
      expect(await active(respelled(byRfc7009))).toBe(true); // the registered token, in another spelling
      await rfc7009(byRfc7009);
      for (const spelling of [byRfc7009, respelled(byRfc7009)]) expect(await active(spelling), iss).toBe(false);

      const byId = await sign(iss, `${iss}-2`, ecdsaKey);
      await revokeById('byvalueclient', 'ada', await registered(byId));
      for (const spelling of [byId, respelled(byId), otherEcdsaSignature(byId), respelled(otherEcdsaSignature(byId))]) expect(await active(spelling), iss).toBe(false);
    }
    expect(await tokensOf('byvalueclient', 'ada')).toEqual([]);
    // Two spellings of one JWT in one call are one token given twice.
    const twice = await sign('https://as.example', 'twice');
    const answer = await call('registerToken', { claims: authorizationServer, json: { tokens: [twice, respelled(twice)].map((token) => ({ token, type: 'access', appId: 'byvalueclient', userId: 'ada' })) } });
    expect([answer.status, (answer.body.errors as { path: string }[] | undefined)?.map((e) => e.path)]).toEqual([400, ['body.tokens.1.token']]);
  });

  it('whatever the type of its token id: a jti that is no id (a number) is nobody\'s', async () => {
    await trust('numeric');
    expect((await call('createApp', { claims: admin, json: { appId: 'numericclient', name: 'Numeric' } })).status).toBe(201);
    const registered = await call('registerToken', { claims: authorizationServer, json: { issuer: idp.issuer('numeric'), jti: '123', type: 'access', appId: 'numericclient', userId: 'ada' } });
    expect(registered.status, registered.text).toBe(201);
    await revokeById('numericclient', 'ada', registered.body.tokenId as string);
    const iat = epoch();
    const claims = { iss: idp.issuer('numeric'), aud: 'api', client_id: 'numericclient', sub: 'ada', iat, exp: iat + 600 };
    expect(await active(await idp.sign({ ...claims, jti: '123' }))).toBe(false);
    expect(await active(await idp.sign({ ...claims, jti: 123 as unknown as string }))).toBe(false);
    expect(await active(await idp.sign({ ...claims, jti: '124' }))).toBe(true);
  });

  it('when its issuer is trusted again after a distrust: tokens issued before the distrust (+ 60 s) are not learned again', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      await trust('again');
      const sign = (jti: string) => idp.sign({ iss: idp.issuer('again'), aud: 'api', client_id: 'againclient', sub: 'ada', jti, iat: epoch(), exp: epoch() + 3600 });
      const seen = await sign('a-1');
      expect(await active(seen)).toBe(true);
      const neverSeen = await sign('a-2');
      expect((await call('distrustIssuer', { claims: admin, path: { issuerId: 'again' } })).status).toBe(204);
      expect(await active(seen)).toBe(false);
      vi.advanceTimersByTime(5 * 60_000);
      const trusted = await trust('again');
      expect(trusted.trustedSince).toEqual(expect.any(String));
      expect(await active(seen)).toBe(false);
      expect(await active(neverSeen)).toBe(false);
      // Under another id, the same.
      expect((await call('distrustIssuer', { claims: admin, path: { issuerId: 'again' } })).status).toBe(204);
      expect((await call('trustIssuer', { claims: admin, path: { issuerId: 'again-2' }, json: { issuer: idp.issuer('again'), jwksUri: idp.jwksUri('again'), audiences: ['api'] } })).status).toBe(201);
      expect(await active(neverSeen)).toBe(false);
      vi.advanceTimersByTime(61_000);
      expect(await active(await sign('a-3'))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('when its tokens are named by another claim from now on: those issued before the change are not learned again', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      expect((await trust('renamed')).trustedSince).toBeNull();
      const iat = epoch();
      const jwt = await idp.sign({ iss: idp.issuer('renamed'), aud: 'api', client_id: 'renamedclient', sub: 'ada', jti: 'r-1', sid: 's-1', iat, exp: iat + 3600 });
      expect(await active(jwt)).toBe(true);
      await revokeById('renamedclient', 'ada', (await tokensOf('renamedclient', 'ada'))[0]!.tokenId);
      vi.advanceTimersByTime(2 * 60_000);
      await trust('renamed', { audiences: ['api'], claims: { tokenId: 'sid' } }, 200);
      expect(await active(jwt)).toBe(false);
      // Only the audiences changed: the names did not, nothing starts over.
      const kept = await trust('renamed', { audiences: ['api', 'api2'], claims: { tokenId: 'sid' } }, 200);
      vi.advanceTimersByTime(61_000);
      const later = await idp.sign({ iss: idp.issuer('renamed'), aud: 'api', client_id: 'renamedclient', sub: 'ada', sid: 's-2', iat: epoch(), exp: epoch() + 600 });
      expect(await active(later)).toBe(true);
      expect((await trust('renamed', { audiences: ['api', 'api2', 'api3'], claims: { tokenId: 'sid' } }, 200)).trustedSince).toBe(kept.trustedSince);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('odd but signed claims', () => {
  it('are inactive, never an error: a typ that is no string, times no date can hold; RFC 7009 of such a token is a 200', async () => {
    await trust('odd', { audiences: undefined });
    const iat = epoch();
    const claims = { iss: idp.issuer('odd'), client_id: 'oddclient', sub: 'ada', jti: 'o-1', iat, exp: iat + 600 };
    expect(await introspect(await idp.sign(claims, { typ: 5 as unknown as string }))).toEqual({ active: false });
    expect(await introspect(await idp.sign({ ...claims, jti: 'o-2', exp: 1e300 }, { typ: 'at+jwt' }))).toEqual({ active: false });
    expect(await introspect(await idp.sign({ ...claims, jti: 'o-3', iat: -1e13 }, { typ: 'at+jwt' }))).toEqual({ active: false });
    await rfc7009(await idp.sign({ ...claims, jti: 'o-4', exp: 1e300 }, { typ: 'at+jwt' }));
    await rfc7009(await idp.sign({ ...claims, exp: 1e300 }, { typ: 'at+jwt' }));
  });
});
