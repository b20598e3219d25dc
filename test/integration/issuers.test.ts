import { describe, expect, it } from 'vitest';
import { as, call } from '../support/api.js';

/** Trusted JWT issuers: what an org trusts, checked, audited, and trusted once per org. */
const org = 'org-issuers';
const admin = as(org, { sub: 'admin@org-issuers' });
const reader = as(org, { scope: 'usage:read' });
const okta = { issuer: 'https://acme.okta.com/oauth2/default', jwksUri: 'https://acme.okta.com/oauth2/default/v1/keys', audiences: ['api://default'], preset: 'okta' };
const put = (issuerId: string, json: unknown, claims = admin) => call('trustIssuer', { claims, path: { issuerId }, json });
const changes = async () => ((await call('listAuditEvents', { claims: admin })).body.items ?? [])
  .filter((e) => e.action === 'issuer.changed').map((e) => (e.details as { change: string; issuerId: string }));

describe('/v1/issuers/{issuerId}', () => {
  it('trusts (201) with the preset\'s claims, keeps the same trust as it is (200, no event), replaces (200), lists, reads and distrusts (204), audited', async () => {
    const trusted = await put('okta-prod', okta);
    expect(trusted.status, trusted.text).toBe(201);
    expect(trusted.body).toEqual({
      issuerId: 'okta-prod', ...okta, claims: { client: 'cid', user: 'uid', userName: 'sub', scope: 'scp', tokenId: 'jti' }, backdatingSeconds: 0,
      trustedSince: null, learnedTokenCount: 0, lastUsedAt: null, createdAt: expect.any(String), updatedAt: trusted.body.createdAt,
    });
    expect((await put('okta-prod', okta)).status).toBe(200);
    const replaced = await put('okta-prod', { ...okta, audiences: ['api://orders'], claims: { userName: 'email' } });
    expect(replaced.body).toMatchObject({ audiences: ['api://orders'], claims: { userName: 'email', client: 'cid' } });
    expect(replaced.status).toBe(200);
    expect((await call('listIssuers', { claims: reader })).body).toEqual({ items: [expect.objectContaining({ issuerId: 'okta-prod', audiences: ['api://orders'] })], nextCursor: null });
    expect((await call('getIssuer', { claims: reader, path: { issuerId: 'okta-prod' } })).body).toMatchObject({ preset: 'okta' });
    expect((await call('distrustIssuer', { claims: admin, path: { issuerId: 'okta-prod' } })).status).toBe(204);
    expect((await call('getIssuer', { claims: reader, path: { issuerId: 'okta-prod' } })).status).toBe(404);
    expect((await call('distrustIssuer', { claims: admin, path: { issuerId: 'okta-prod' } })).status).toBe(404);
    expect((await changes()).filter((c) => c.issuerId === 'okta-prod').map((c) => c.change)).toEqual(['distrusted', 'replaced', 'trusted']);
    expect((await put('x', okta, reader)).status).toBe(403);
  });

  it('trusts an issuer URL under one id of the org at most, also when an issuer moves to it; another org may trust it too', async () => {
    const url = { ...okta, issuer: 'https://shared.example/oauth2/default' };
    expect((await put('first', url)).status).toBe(201);
    const again = await put('second', url);
    expect([again.status, again.body.type]).toEqual([409, 'urn:oauth-usage:problem:conflict']);
    expect((await put('second', { ...url, issuer: 'https://other.example/' })).status).toBe(201);
    expect((await put('second', url)).status).toBe(409); // moving onto a trusted URL
    // Once the first moves away, its old URL is free: the URL copy moved with it.
    expect((await put('first', { ...url, issuer: 'https://moved.example/' })).status).toBe(200);
    expect((await put('second', url)).status).toBe(200);
    expect((await put('theirs', url, as('org-issuers-other', { sub: 'admin@other' }))).status).toBe(201);
  });

  it('trusts once when the same PUT arrives twice at once (201 and 200, never a 409)', async () => {
    const same = { ...okta, issuer: 'https://twice.example/oauth2/default' };
    const answers = await Promise.all([put('twice', same), put('twice', same)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 201]);
  });

  it('names the field it refuses: URLs (https, no private address, no credentials), audiences a preset needs, claim names, presets', async () => {
    const refused = async (json: unknown) => {
      const answer = await put('bad', json);
      expect(answer.status, answer.text).toBe(400);
      return (answer.body.errors as { path: string }[]).map((e) => e.path);
    };
    expect(await refused({ ...okta, issuer: 'ftp://acme.example/' })).toEqual(['body.issuer']);
    expect(await refused({ ...okta, jwksUri: 'http://acme.example/keys' })).toEqual(['body.jwksUri']);
    for (const internal of ['https://10.0.0.8/keys', 'https://169.254.169.254/latest', 'https://[fd00::1]/keys', 'https://192.168.1.1/', 'https://[::ffff:127.0.0.2]/']) {
      expect(await refused({ ...okta, jwksUri: internal }), internal).toEqual(['body.jwksUri']);
    }
    expect(await refused({ ...okta, jwksUri: 'https://user:pass@acme.example/keys' })).toEqual(['body.jwksUri']);
    expect(await refused({ ...okta, audiences: undefined })).toEqual(['body.audiences']);
    expect(await refused({ ...okta, preset: 'ping' })).toEqual(['body.preset']);
    expect(await refused({ ...okta, claims: { user: 'has space' } })).toEqual(['body.claims.user']);
    expect(await refused({ ...okta, claims: { tenant: 'tid' } })).toEqual(['body.claims.tenant']);
    // Cognito's access tokens say what they are (`token_use`), so it needs no audiences; nor does an RFC 9068 issuer (`typ: at+jwt`).
    const cognito = { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', jwksUri: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json', preset: 'cognito' };
    expect((await put('cognito', cognito)).body).toMatchObject({ audiences: [], claims: { client: 'client_id', user: 'sub', userName: 'username', scope: 'scope', tokenId: 'jti' } });
    expect((await put('rfc9068', { issuer: 'https://as.example/', jwksUri: 'https://as.example/jwks' })).body).toMatchObject({ preset: null, claims: { client: 'client_id', user: 'sub', userName: null, scope: 'scope', tokenId: 'jti' } });
    expect((await put('entra', { ...okta, issuer: 'https://login.microsoftonline.com/tid/v2.0', preset: 'entra' })).body).toMatchObject({ backdatingSeconds: 300, claims: { user: 'oid', tokenId: 'uti' } });
  });

  it('pages the list by id, whatever the page size', async () => {
    const paged = 'org-issuers-paged';
    const mine = as(paged, { sub: 'admin@paged' });
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) expect((await put(id, { ...okta, issuer: `https://${id}.example/` }, mine)).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('listIssuers', { claims: as(paged, { scope: 'usage:read' }), query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      seen.push(...(page.body.items as { issuerId: string }[]).map((i) => i.issuerId));
      cursor = (page.body.nextCursor as string | null) ?? undefined;
    } while (cursor);
    expect(seen).toEqual(ids);
  });
});
