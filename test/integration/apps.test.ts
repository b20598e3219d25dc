import { createTokenHasher, singleKey } from '../../shared/crypto.js';
import { describe, expect, it } from 'vitest';
import { as, call, createApp, rawToken, register } from '../support/api.js';

const org = 'org-apps';

const hasher = createTokenHasher(singleKey(Buffer.from(process.env.TOKEN_HASH_SECRET as string, 'base64')));

describe('POST /v1/apps and GET /v1/apps/{appId}', () => {
  it('creates an app with defaults (201, Location, ETag) and reads it back', async () => {
    const created = await call('createApp', {
      claims: as(org),
      json: { appId: 'billing', name: 'Billing', contactEmail: 'ops@example.com', callbackUrls: ['https://billing.example.com/cb'], scopes: ['api', 'refresh_token'] },
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/apps/billing');
    expect(created.headers.etag).toMatch(/^"v\d+"$/);
    expect(created.body).toMatchObject({
      appId: 'billing', name: 'Billing', description: null, userCount: 0, activeTokenCount: 0, lastUsedAt: null,
      policies: { refreshTokenPolicy: { mode: 'until-revoked' }, permittedUsers: 'all-users-self-authorize', ipRelaxation: 'enforce', accessTokenLifetimeMinutes: null, sessionTimeoutMinutes: null },
    });
    const read = await call('getApp', { claims: as(org), path: { appId: 'billing' } });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.etag).toBe(created.headers.etag);
  });

  it('generates an appId when none is given', async () => {
    const created = await call('createApp', { claims: as(org), json: { name: 'Generated' } });
    expect(created.status).toBe(201);
    expect(created.body.appId).toMatch(/^app_[0-9a-f]{20}$/);
  });

  it('answers 409 for an appId already taken in the org, but not for the same appId in another org', async () => {
    await createApp(org, 'taken');
    const again = await call('createApp', { claims: as(org), json: { appId: 'taken', name: 'Again' } });
    expect(again.status).toBe(409);
    expect((await call('createApp', { claims: as('org-apps-2'), json: { appId: 'taken', name: 'Mine' } })).status).toBe(201);
  });

  it('keeps apps of other orgs invisible (404)', async () => {
    await createApp(org, 'private');
    const foreign = await call('getApp', { claims: as('org-apps-3'), path: { appId: 'private' } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.type).toMatch(/not-found$/);
  });

  it.each([
    [{ appId: 'ok', name: 'x', policies: { refreshTokenPolicy: { mode: 'expire-after' } } }, 'body.policies.refreshTokenPolicy.value'],
    [{ appId: 'ok', name: 'x', policies: { refreshTokenPolicy: { mode: 'sometimes' } } }, 'body.policies.refreshTokenPolicy.mode'],
    [{ appId: 'ok', name: 'x', policies: { refreshTokenPolicy: { mode: 'until-revoked', value: 3, unit: 'days' } } }, 'body.policies.refreshTokenPolicy.value'],
    [{ appId: 'ok', name: 'x', policies: { refreshTokenPolicy: { mode: 'expire-after', value: 3, unit: 'weeks' } } }, 'body.policies.refreshTokenPolicy.unit'],
    [{ appId: 'ok', name: 'x', policies: { accessTokenLifetimeMinutes: 0 } }, 'body.policies.accessTokenLifetimeMinutes'],
    [{ appId: 'ok', name: 'x', policies: { ipRelaxation: 'sometimes' } }, 'body.policies.ipRelaxation'],
    [{ appId: 'ok', name: 'x', contactEmail: 'not-an-email' }, 'body.contactEmail'],
    [{ appId: 'ok', name: 'x', callbackUrls: ['javascript:alert(1)'] }, 'body.callbackUrls.0'],
    [{ appId: 'ok', name: 'x', scopes: ['has space'] }, 'body.scopes.0'],
    [{ appId: 'a/b', name: 'x' }, 'body.appId'],
    [{ appId: 'a'.repeat(256), name: 'x' }, 'body.appId'],
    [{ appId: 'ok' }, 'body.name'],
  ])('answers 400 naming the field for %j', async (json, path) => {
    const reply = await call('createApp', { claims: as(org), json });
    expect(reply.status).toBe(400);
    expect((reply.body.errors as { path: string }[]).map((e) => e.path)).toContain(path);
  });

  it('needs apps:manage to create and usage:read to read', async () => {
    const create = await call('createApp', { claims: as(org, { scope: 'usage:read' }), json: { name: 'x' } });
    expect(create.status).toBe(403);
    expect(create.body.type).toMatch(/insufficient-scope$/);
    const read = await call('getApp', { claims: as(org, { scope: 'apps:manage' }), path: { appId: 'billing' } });
    expect(read.status).toBe(403);
  });

  it('answers 400 for a malformed appId in the path', async () => {
    const reply = await call('getApp', { claims: as(org), path: { appId: 'bad id#1' } });
    expect(reply.status).toBe(400);
    expect((reply.body.errors as { path: string }[])[0]?.path).toBe('path.appId');
  });
});

describe('GET /v1/apps/{appId}/users/{userId}/tokens', () => {
  it('pages through a user’s tokens with an opaque cursor, no token missed or repeated, never showing raw values', async () => {
    await createApp(org, 'paged');
    const registered = new Set<string>();
    const raws: string[] = [];
    for (let i = 0; i < 7; i++) {
      const raw = rawToken();
      raws.push(raw);
      const reply = await register(org, { token: raw, type: i % 2 ? 'refresh' : 'access', appId: 'paged', userId: 'pat', scopes: ['api'] });
      registered.add(reply.body.tokenId as string);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call('listUserTokens', { claims: as(org), path: { appId: 'paged', userId: 'pat' }, query: { limit: '3', ...(cursor ? { cursor } : {}) } });
      expect(page.status).toBe(200);
      for (const item of page.body.items ?? []) {
        expect(Object.keys(item).sort()).toEqual(['expiresAt', 'grantId', 'issuedAt', 'lastUsedAt', 'learnedFrom', 'refreshTokenId', 'retiredAt', 'scopes', 'tokenId', 'type', 'useCount']);
        seen.push(item.tokenId as string);
      }
      expect(raws.some((raw) => page.text.includes(raw))).toBe(false);
      cursor = (page.body.nextCursor as string | null) ?? undefined;
      // Opaque: no storage key, keyed hash or org inside, however it is decoded.
      const inside = cursor ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
      for (const leak of ['ORG#', 'TOKEN#', 'USER#', org, 'pat']) expect(inside).not.toContain(leak);
      for (const item of page.body.items ?? []) expect(inside).not.toContain(hasher.lookupKeyOf(item.tokenId as string));
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBe(7);
    expect(new Set(seen)).toEqual(registered);
  });

  it('refuses a tampered cursor, and a cursor of another list or org, with 400', async () => {
    await createApp(org, 'cursors');
    for (let i = 0; i < 3; i++) await register(org, { token: rawToken(), type: 'access', appId: 'cursors', userId: 'c1' });
    await register(org, { token: rawToken(), type: 'access', appId: 'cursors', userId: 'c2' });
    const first = await call('listUserTokens', { claims: as(org), path: { appId: 'cursors', userId: 'c1' }, query: { limit: '1' } });
    const cursor = first.body.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    const attempts = [
      { claims: as(org), path: { appId: 'cursors', userId: 'c1' }, query: { cursor: flip(cursor, 3) } },
      { claims: as(org), path: { appId: 'cursors', userId: 'c1' }, query: { cursor: flip(cursor, cursor.length - 1) } },
      { claims: as(org), path: { appId: 'cursors', userId: 'c2' }, query: { cursor } },
      { claims: as('org-apps-other'), path: { appId: 'cursors', userId: 'c1' }, query: { cursor } },
    ];
    for (const attempt of attempts) {
      const reply = await call('listUserTokens', attempt);
      expect(reply.status).toBe(400);
      expect((reply.body.errors as { path: string }[])[0]?.path).toBe('query.cursor');
    }
  });

  it('answers 400 for a limit outside 1–100 and 404 for an unknown app or user', async () => {
    for (const limit of ['0', '101', 'ten']) {
      const reply = await call('listUserTokens', { claims: as(org), path: { appId: 'paged', userId: 'pat' }, query: { limit } });
      expect(reply.status).toBe(400);
      expect((reply.body.errors as { path: string }[])[0]?.path).toBe('query.limit');
    }
    expect((await call('listUserTokens', { claims: as(org), path: { appId: 'nope', userId: 'pat' } })).status).toBe(404);
    expect((await call('listUserTokens', { claims: as(org), path: { appId: 'paged', userId: 'nobody' } })).status).toBe(404);
    expect((await call('listUserTokens', { claims: as('org-apps-other'), path: { appId: 'paged', userId: 'pat' } })).status).toBe(404);
  });
});
