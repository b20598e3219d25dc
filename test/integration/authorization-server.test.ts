import { describe, expect, it } from 'vitest';
import { as, call, createApp, rawToken, register } from '../support/api.js';

/** What an authorization server needs beside registration: declaring its clients, reading the policies it applies. */
const org = 'org-as-clients';
const asServer = as(org, { sub: 'as@org-as-clients', scope: 'tokens:write' });
const admin = as(org, { sub: 'admin@org-as-clients', scope: 'usage:read apps:manage' });

const declare = (appId: string, json: unknown, claims = asServer) => call('declareClient', { claims, path: { appId }, json });
const events = async (appId: string) => ((await call('listAuditEvents', { claims: admin, query: { appId } })).body.items ?? []);

describe('PUT /v1/apps/{appId}: the AS keeps its clients in step', () => {
  it('creates a new client\'s app with the default policies (201), audited with the AS as actor, and its tokens register at once', async () => {
    const created = await declare('new-client', { name: 'New client', callbackUrls: ['https://app.example/cb'], scopes: ['api'] });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.location).toBe('/v1/apps/new-client');
    expect(created.body).toMatchObject({ appId: 'new-client', name: 'New client', description: null, callbackUrls: ['https://app.example/cb'], scopes: ['api'] });
    expect(created.body.policies).toMatchObject({ refreshTokenPolicy: { mode: 'until-revoked' }, permittedUsers: 'all-users-self-authorize' });
    expect(await events('new-client')).toEqual([expect.objectContaining({ action: 'app.created', actor: { sub: 'as@org-as-clients', kind: 'client' } })]);
    expect((await register(org, { token: rawToken(), type: 'access', appId: 'new-client', userId: 'ada', scopes: ['api'] })).status).toBe(201);
  });

  it('changes only the settings it names; the same declaration again writes nothing', async () => {
    await createApp(org, 'kept', { description: 'Set by the admin', contactEmail: 'owner@example.com', scopes: ['api'], policies: { accessTokenLifetimeMinutes: 30 } });
    const before = await call('getApp', { claims: admin, path: { appId: 'kept' } });
    const changed = await declare('kept', { name: 'Renamed at the AS', callbackUrls: ['https://kept.example/cb'] });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({
      name: 'Renamed at the AS', callbackUrls: ['https://kept.example/cb'], description: 'Set by the admin', contactEmail: 'owner@example.com', scopes: ['api'],
      policies: expect.objectContaining({ accessTokenLifetimeMinutes: 30 }),
    });
    expect(changed.headers.etag).not.toBe(before.headers.etag);
    const again = await declare('kept', { name: 'Renamed at the AS', callbackUrls: ['https://kept.example/cb'] });
    expect(again.status).toBe(200);
    expect(again.headers.etag).toBe(changed.headers.etag);
    const actions = (await events('kept')).map((e) => [e.action, (e.actor as { kind: string }).kind]);
    expect(actions).toEqual([['app.settings.updated', 'client'], ['app.created', 'user']]);
  });

  it('refuses policies (the admin\'s), fields it does not know and a missing name with a 400 naming the field; needs tokens:write', async () => {
    const withPolicies = await declare('refused', { name: 'X', policies: { accessTokenLifetimeMinutes: 1 } });
    expect(withPolicies.status).toBe(400);
    expect(withPolicies.body.errors).toEqual([expect.objectContaining({ path: 'body.policies' })]);
    expect((await declare('refused', { name: 'X', contactEmail: 'a@b.example' })).body.errors).toEqual([expect.objectContaining({ path: 'body.contactEmail' })]);
    expect((await declare('refused', {})).body.errors).toEqual([expect.objectContaining({ path: 'body.name' })]);
    expect((await declare('refused', { name: 'X' }, admin)).status).toBe(403);
    expect((await call('getApp', { claims: admin, path: { appId: 'refused' } })).status).toBe(404);
  });

  it('two declarations of a new client at once: one creates it, both answer it', async () => {
    const replies = await Promise.all([declare('raced', { name: 'Raced' }), declare('raced', { name: 'Raced' })]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 201]);
    expect((await events('raced')).map((e) => e.action)).toEqual(['app.created']);
  });
});

describe('GET /v1/apps/{appId}/policies', () => {
  it('answers the policies object itself to the AS and to an admin, so the AS tells the client the expires_in the service enforces', async () => {
    await createApp(org, 'short-lived', { policies: { accessTokenLifetimeMinutes: 1 } });
    const forAs = await call('getPolicies', { claims: asServer, path: { appId: 'short-lived' } });
    expect(forAs.status, forAs.text).toBe(200);
    expect(forAs.body).toEqual({
      refreshTokenPolicy: { mode: 'until-revoked' }, accessTokenLifetimeMinutes: 1, permittedUsers: 'all-users-self-authorize', ipRelaxation: 'enforce',
      sessionTimeoutMinutes: null, refreshTokenReuseGraceSeconds: 0,
    });
    const forAdmin = await call('getPolicies', { claims: as(org, { scope: 'usage:read' }), path: { appId: 'short-lived' } });
    expect(forAdmin.body).toEqual(forAs.body);
    // What it reads is what a PUT …/policies takes.
    expect((await call('replacePolicies', { claims: admin, path: { appId: 'short-lived' }, json: forAs.body })).status).toBe(200);
    const reg = await register(org, { token: rawToken(), type: 'access', appId: 'short-lived', userId: 'ada' });
    expect(Date.parse(reg.body.expiresAt as string) - Date.parse(reg.body.issuedAt as string)).toBe(60_000);
    expect((await call('getPolicies', { claims: as(org, { scope: 'tokens:introspect' }), path: { appId: 'short-lived' } })).status).toBe(403);
    expect((await call('getPolicies', { claims: asServer, path: { appId: 'missing' } })).status).toBe(404);
  });
});
