import { describe, expect, it } from 'vitest';
import { httpApiEvent } from '../../local/event.js';
import { ValidationError } from '../../shared/errors.js';
import { authorize, errorResponse } from '../../shared/http.js';
import { matchRoute, pathPattern, routes } from '../../shared/routes.js';
import { idSchema, parse } from '../../shared/schemas/common.js';
import { createAppSchema } from '../../shared/schemas/apps.js';

const event = (claims: Record<string, string>) => httpApiEvent({ method: 'GET', url: '/v1/apps/a', routeKey: 'GET /v1/apps/{appId}', claims });

describe('authorize', () => {
  const ok = { sub: 's', org_id: 'acme', org_edition: 'Unlimited', scope: 'usage:read' };

  it('accepts the supported editions in any case', () => {
    for (const edition of ['Professional', 'performance', 'UNLIMITED', 'Developer']) {
      expect(authorize(event({ ...ok, org_edition: edition }), 'usage:read').orgId).toBe('acme');
    }
  });

  it('refuses other editions, missing scopes and unusable tenants', () => {
    expect(() => authorize(event({ ...ok, org_edition: 'Essentials' }), 'usage:read')).toThrow(expect.objectContaining({ statusCode: 403, type: 'edition-not-supported' }));
    expect(() => authorize(event(ok), 'apps:manage')).toThrow(expect.objectContaining({ statusCode: 403, type: 'insufficient-scope' }));
    expect(() => authorize(event({ ...ok, scope: 'usage:readx' }), 'usage:read')).toThrow(expect.objectContaining({ statusCode: 403 }));
    expect(() => authorize(event({ ...ok, org_id: 'a#b' }), 'usage:read')).toThrow(expect.objectContaining({ statusCode: 401 }));
  });
});

describe('errorResponse', () => {
  it('hides unexpected errors behind a bare 500', () => {
    const reply = errorResponse(new Error('connection string with password=hunter2'), 'problem');
    expect(reply.statusCode).toBe(500);
    expect(reply.body).not.toContain('hunter2');
    expect(JSON.parse(reply.body as string)).toMatchObject({ status: 500, type: expect.stringMatching(/internal-error$/) });
  });

  it('answers RFC 6749 JSON on oauth routes', () => {
    const reply = errorResponse(ValidationError.field('body.token', 'is required'), 'oauth');
    expect(JSON.parse(reply.body as string)).toEqual({ error: 'invalid_request', error_description: 'body.token: is required' });
  });
});

describe('route table', () => {
  it('matches paths to routes and reports allowed methods for a wrong one', () => {
    expect(matchRoute('GET', '/v1/apps/crm%2Dsync/users/ada%40example.com/tokens')).toEqual({
      route: routes.listUserTokens, params: { appId: 'crm-sync', userId: 'ada@example.com' },
    });
    expect(matchRoute('DELETE', '/v1/tokens')).toEqual({ allowed: ['POST'] });
    expect(matchRoute('GET', '/v1/apps/a/b')).toEqual({ allowed: [] });
    expect(pathPattern('/v1/apps/{appId}').test('/v1/apps/a/extra')).toBe(false);
  });

  it('lists every route once', () => {
    const keys = Object.values(routes).map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('schemas', () => {
  it('accept and refuse ids as the contract says', () => {
    for (const id of ['a', 'A9', 'ada@example.com', 'x.y_z-1+2:3', 'a'.repeat(128)]) expect(idSchema.safeParse(id).success).toBe(true);
    for (const id of ['', '-a', '.a', 'a b', 'a#b', 'a/b', 'a\nb', 'a'.repeat(129), 'ü']) expect(idSchema.safeParse(id).success).toBe(false);
  });

  it('name every unknown field and nested error path', () => {
    try {
      parse(createAppSchema, { name: 'x', extra: 1, policies: { refreshTokenPolicy: { mode: 'expire-after', value: 0, unit: 'days' } } }, 'body');
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).errors?.map((e) => e.path).sort()).toEqual(['body.extra', 'body.policies.refreshTokenPolicy.value']);
    }
  });
});
