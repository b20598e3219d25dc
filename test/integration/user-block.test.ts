import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { epoch, startTestIssuer, type TestIssuer } from '../support/jwt-issuer.js';

/** Deny a user new tokens in every app (contract section 5): POST /v1/users/{userId}/block and …/unblock. */
const org = 'org-user-block';
const admin = as(org);
let idp: TestIssuer;

beforeAll(async () => {
  idp = await startTestIssuer();
});
afterAll(async () => idp.close());

const setBlocked = (userId: string, blocked: boolean) => call(blocked ? 'blockUser' : 'unblockUser', { claims: admin, path: { userId } });
const active = async (token: string) => (await introspect(org, token)).body.active;
const userEvents = async (userId: string) => ((await call('listAuditEvents', { claims: admin, query: { userId } })).body.items as { action: string }[]).map((e) => e.action);

describe('POST /v1/users/{userId}/block', () => {
  it('refuses registrations for the user in every app with 409 user-blocked, leaves their tokens active and other users alone; unblock takes them again', async () => {
    await createApp(org, 'mail');
    await createApp(org, 'crm');
    const held = rawToken('held');
    expect((await register(org, { token: held, type: 'access', appId: 'mail', userId: 'ada' })).status).toBe(201);

    const blocked = await setBlocked('ada', true);
    expect([blocked.status, blocked.body]).toEqual([200, { userId: 'ada', blocked: true }]);
    expect((await setBlocked('ada', true)).body).toEqual({ userId: 'ada', blocked: true });
    for (const appId of ['mail', 'crm']) {
      const refused = await register(org, { token: rawToken('new'), type: 'access', appId, userId: 'ada' });
      expect([refused.status, refused.body.type]).toEqual([409, 'urn:oauth-usage:problem:user-blocked']);
      // A grant (refresh + access) is refused as a whole.
      const refresh = rawToken('r');
      const grant = await register(org, { tokens: [{ token: refresh, type: 'refresh', appId, userId: 'ada' }, { token: rawToken('a'), type: 'access', appId, userId: 'ada', refreshToken: refresh }] });
      expect(grant.body.type).toBe('urn:oauth-usage:problem:user-blocked');
    }
    expect(await active(held)).toBe(true); // deny new tokens only: offboard to end the ones held
    expect((await register(org, { token: rawToken('bob'), type: 'access', appId: 'crm', userId: 'bob' })).status).toBe(201);
    // A blocked app comes first in the contract's order of refusals.
    expect((await call('blockApp', { claims: admin, path: { appId: 'crm' } })).status).toBe(202);
    expect((await register(org, { token: rawToken('new'), type: 'access', appId: 'crm', userId: 'ada' })).body.type).toBe('urn:oauth-usage:problem:app-blocked');

    expect((await setBlocked('ada', false)).body).toEqual({ userId: 'ada', blocked: false });
    expect((await setBlocked('ada', false)).status).toBe(200);
    const fresh = rawToken('fresh');
    expect((await register(org, { token: fresh, type: 'access', appId: 'mail', userId: 'ada' })).status).toBe(201);
    expect(await active(fresh)).toBe(true);
    expect(await userEvents('ada')).toEqual(['user.unblocked', 'user.blocked']);
  });

  it('racing registrations: none started after the block\'s answer is registered', async () => {
    await createApp(org, 'race');
    const before = Array.from({ length: 12 }, () => register(org, { token: rawToken('race'), type: 'access', appId: 'race', userId: 'cy' }));
    expect((await setBlocked('cy', true)).status).toBe(200);
    const answers = await Promise.all(before);
    expect(answers.every((a) => a.status === 201 || a.body.type === 'urn:oauth-usage:problem:user-blocked')).toBe(true);
    const after = await Promise.all(Array.from({ length: 6 }, () => register(org, { token: rawToken('late'), type: 'access', appId: 'race', userId: 'cy' })));
    expect(after.map((a) => a.status)).toEqual([409, 409, 409, 409, 409, 409]);
  });

  it('keeps JWTs of a trusted issuer issued while blocked inactive, also after the unblock, and those issued before or after active, seen first whenever', async () => {
    const issuerId = 'user-block-okta';
    const trusted = await call('trustIssuer', { claims: admin, path: { issuerId }, json: { issuer: idp.issuer(issuerId), jwksUri: idp.jwksUri(issuerId), preset: 'okta', audiences: ['api://default'] } });
    expect(trusted.status, trusted.text).toBe(201);
    const jwt = (jti: string, uid: string) => idp.sign({ ver: 1, jti, iss: idp.issuer(issuerId), aud: 'api://default', iat: epoch(), exp: epoch(3600), cid: '0oa1userblock', uid, scp: ['orders:read'], sub: `${uid}@example.com` });
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    try {
      const seenBefore = await jwt('AT.before', 'dee');
      const [firstSeenWhileBlocked, firstSeenAfter] = [await jwt('AT.before.2', 'dee'), await jwt('AT.before.3', 'dee')];
      expect(await active(seenBefore)).toBe(true);
      // Issued and seen 20 s before the block (within the issuer clock's tolerance): a token the user holds, untouched.
      vi.setSystemTime(t0 + 100_000);
      const justBefore = await jwt('AT.just-before', 'dee');
      expect(await active(justBefore)).toBe(true);
      vi.setSystemTime(t0 + 120_000);
      expect((await setBlocked('dee', true)).status).toBe(200);
      vi.setSystemTime(t0 + 240_000);
      const whileBlocked = await jwt('AT.while', 'dee');
      expect(await active(whileBlocked)).toBe(false);
      // Issued before the block: untouched by it, whenever first seen.
      expect([await active(seenBefore), await active(firstSeenWhileBlocked), await active(justBefore)]).toEqual([true, true, true]);
      expect(await active(await jwt('AT.other', 'eve'))).toBe(true);
      vi.setSystemTime(t0 + 300_000);
      expect((await setBlocked('dee', false)).status).toBe(200);
      vi.setSystemTime(t0 + 330_000);
      expect(await active(whileBlocked)).toBe(false);
      expect(await active(firstSeenAfter)).toBe(true);
      vi.setSystemTime(t0 + 420_000);
      expect(await active(await jwt('AT.after', 'dee'))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
