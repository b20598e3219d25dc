import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { httpApiEvent } from '../../local/event.js';
import { ValidationError } from '../../shared/errors.js';
import { authorize, errorResponse } from '../../shared/http.js';
import { matchRoute, pathPattern, routes } from '../../shared/routes.js';
import { idSchema, listQuerySchema, parse, timestampSchema } from '../../shared/schemas/common.js';
import { registerTokenSchema } from '../../shared/schemas/registration.js';
import { createAppSchema } from '../../shared/schemas/apps.js';

const event = (claims: Record<string, string>) => httpApiEvent({ method: 'GET', url: '/v1/apps/a', routeKey: 'GET /v1/apps/{appId}', claims });

describe('authorize', () => {
  const ok = { sub: 's', org_id: 'acme', org_edition: 'Unlimited', scope: 'usage:read' };

  it('accepts the supported editions in any case', () => {
    for (const edition of ['Professional', 'performance', 'UNLIMITED', 'Developer']) {
      expect(authorize(event({ ...ok, org_edition: edition }), ['usage:read']).orgId).toBe('acme');
    }
  });

  it('refuses other editions, missing scopes and unusable tenants', () => {
    expect(() => authorize(event({ ...ok, org_edition: 'Essentials' }), ['usage:read'])).toThrow(expect.objectContaining({ statusCode: 403, type: 'edition-not-supported' }));
    expect(() => authorize(event(ok), ['apps:manage'])).toThrow(expect.objectContaining({ statusCode: 403, type: 'insufficient-scope' }));
    expect(() => authorize(event({ ...ok, scope: 'usage:readx' }), ['usage:read'])).toThrow(expect.objectContaining({ statusCode: 403 }));
    expect(() => authorize(event({ ...ok, org_id: 'a#b' }), ['usage:read'])).toThrow(expect.objectContaining({ statusCode: 401 }));
  });

  it('takes any one of a route\'s scopes, and names them all when the caller holds none', () => {
    expect(authorize(event(ok), ['tokens:write', 'usage:read']).sub).toBe('s');
    expect(() => authorize(event(ok), ['tokens:write', 'apps:manage'])).toThrow(expect.objectContaining({
      statusCode: 403, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="tokens:write apps:manage"' },
    }));
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
    for (const id of ['a', 'A9', 'ada@example.com', 'x.y_z-1+2:3', '-a', '.a', '_k3jX-9', 'auth0|abc123', '!"$&\'()*+,;<=>@[]^`{|}~', 'a'.repeat(255)]) expect(v.is(idSchema, id), id).toBe(true);
    for (const id of ['', '.', '..', 'a b', 'a#b', 'a/b', 'a?b', 'a%b', 'a\\b', 'a\nb', 'a\u007fb', 'a'.repeat(256), 'ü']) expect(v.is(idSchema, id), id).toBe(false);
  });

  it('name every unknown field and nested error path', () => {
    try {
      parse(createAppSchema, { name: 'x', extra: 1, policies: { refreshTokenPolicy: { mode: 'expire-after', value: 0, unit: 'days' } } }, 'body');
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).errors?.map((e) => e.path).sort()).toEqual(['body.extra', 'body.policies.refreshTokenPolicy.value']);
    }
  });

  const errorsOf = (schema: Parameters<typeof parse>[0], value: unknown) => {
    try {
      parse(schema, value, 'body');
      return [];
    } catch (error) {
      return (error as ValidationError).errors ?? [];
    }
  };

  it('say a missing field is required and an unknown one is unknown', () => {
    expect(errorsOf(registerTokenSchema, { type: 'access', token: 'raw-token-value-0123456789', userId: 'u', color: 'red' })).toEqual([
      { path: 'body.appId', message: 'is required' },
      { path: 'body.color', message: 'unknown field' },
    ]);
  });

  it('take RFC 3339 times with any offset, check them against the calendar, and store them in UTC', () => {
    expect(parse(timestampSchema, '2028-02-29T23:30:00-01:00', 'body')).toBe('2028-03-01T00:30:00.000Z');
    expect(parse(timestampSchema, '2000-02-29T00:00:00.5Z', 'body')).toBe('2000-02-29T00:00:00.500Z');
    expect(parse(timestampSchema, '2030-01-31t12:00:00z', 'body')).toBe('2030-01-31T12:00:00.000Z');
    for (const refused of ['2027-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2030-04-31T00:00:00Z', '2030-01-01T00:00Z', '2030-01-01 00:00:00Z', '2030-01-01T00:00:00', '2030-01-01T24:00:00Z']) {
      expect(errorsOf(timestampSchema, refused), refused).toEqual([{ path: 'body', message: expect.stringContaining('RFC 3339') }]);
    }
    expect(errorsOf(timestampSchema, '9999-12-31T23:59:59-01:00')).toEqual([{ path: 'body', message: 'must fall within the years 0000–9999 in UTC' }]);
  });

  it('read a list limit as a whole number from 1 to 100, 50 when absent', () => {
    expect(parse(listQuerySchema, {}, 'query')).toEqual({ limit: 50 });
    expect(parse(listQuerySchema, { limit: '100' }, 'query')).toEqual({ limit: 100 });
    for (const limit of ['0', '101', '1.5', '-1', 'ten', '']) expect(errorsOf(listQuerySchema, { limit }).map((e) => e.path), limit).toEqual(['body.limit']);
  });
});
