import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { httpApiEvent, lambdaContext } from '../../local/event.js';
import { behindJwtAuthorizer, type RouteDefinition } from '../../shared/api/define.js';
import type { HttpEvent } from '../../shared/http.js';
import { UnauthorizedError } from '../../shared/errors.js';
import { httpRoute } from '../../shared/http.js';
import { idSchema } from '../../shared/schemas/common.js';

/** A route of the kind the next features need: an optional JSON body, any of two scopes. */
const route = {
  method: 'POST', path: '/v1/things/{thingId}/block', handler: 'block-thing', scopes: ['apps:manage', 'tokens:write'], budget: 'unlimited', table: 'none',
  tag: 'apps', summary: 'Block a thing',
  input: {
    path: v.strictObject({ thingId: idSchema }),
    headers: v.object({ 'idempotency-key': v.optional(v.pipe(v.string(), v.maxLength(5))) }),
    body: { schema: v.strictObject({ reason: v.optional(v.pipe(v.string(), v.minLength(1))) }), media: 'application/json', optional: true, example: { reason: 'x' } },
  },
  answers: { 200: { description: 'Blocked.', schema: v.object({ thingId: v.string(), reason: v.nullable(v.string()) }), headers: ['Location'] } },
} as const satisfies RouteDefinition;
const handler = httpRoute(route, ({ path, body }) => Promise.resolve({
  status: 200, body: { thingId: path.thingId, reason: body?.reason ?? null }, headers: { Location: `/v1/things/${path.thingId}` },
}));

const call = async (options: { body?: string; contentType?: string; thingId?: string; headers?: Record<string, string>; scope?: string } = {}) => {
  const thingId = options.thingId ?? 'a1';
  const result = await handler(httpApiEvent({
    method: 'POST', url: `/v1/things/${thingId}/block`, routeKey: 'POST /v1/things/{thingId}/block', pathParameters: { thingId },
    headers: { ...(options.contentType ? { 'content-type': options.contentType } : {}), ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
    claims: { sub: 's', org_id: 'acme', org_edition: 'Developer', scope: options.scope ?? 'tokens:write' },
  }), lambdaContext('block-thing'));
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body ?? 'null') as Record<string, unknown> };
};

describe('httpRoute with a route definition', () => {
  it('takes an optional JSON body left out altogether, or sent and parsed like any other', async () => {
    expect(await call()).toMatchObject({ status: 200, body: { thingId: 'a1', reason: null } });
    // API Gateway may pass an empty body as '' (the local server leaves it out).
    const empty = await handler({ ...httpApiEvent({ method: 'POST', url: '/v1/things/a1/block', routeKey: 'POST /v1/things/{thingId}/block', pathParameters: { thingId: 'a1' },
      claims: { sub: 's', org_id: 'acme', org_edition: 'Developer', scope: 'tokens:write' } }), body: '' }, lambdaContext('block-thing'));
    expect([empty.statusCode, JSON.parse(empty.body ?? '')]).toEqual([200, { thingId: 'a1', reason: null }]);
    expect((await call({ body: '""', contentType: 'application/json' })).body.errors).toEqual([{ path: 'body', message: expect.any(String) }]);
    expect(await call({ body: '{"reason":"leaked"}', contentType: 'application/json' })).toMatchObject({ status: 200, body: { reason: 'leaked' } });
    expect((await call({ body: '{"reason":""}', contentType: 'application/json' })).body.errors).toEqual([{ path: 'body.reason', message: expect.any(String) }]);
    expect((await call({ body: '{"reason":"x"}', contentType: 'text/plain' })).body.errors).toEqual([{ path: 'headers.content-type', message: 'must be application/json' }]);
  });

  it('answers with the documented headers, JSON and never cached', async () => {
    expect((await call()).headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store', location: '/v1/things/a1' });
  });

  it('reports every field at fault at once, each named from its input', async () => {
    const reply = await call({ thingId: 'a/b', headers: { 'idempotency-key': 'too-long' }, body: '{"extra":1}', contentType: 'application/json' });
    expect(reply.status).toBe(400);
    expect((reply.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['path.thingId', 'headers.idempotency-key', 'body.extra']);
  });

  it('takes a caller holding any one of the route\'s scopes, and no other', async () => {
    expect((await call({ scope: 'apps:manage' })).status).toBe(200);
    expect(await call({ scope: 'usage:read' })).toMatchObject({ status: 403, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="apps:manage tokens:write"' } });
  });
});

describe('a handler\'s reply, typed by the route\'s answers (checked by npm run typecheck)', () => {
  it('must be a documented status with a body of its schema and its documented headers', () => {
    const body = { thingId: 'a1', reason: null };
    // @ts-expect-error: 201 is not an answer of the route
    httpRoute(route, () => Promise.resolve({ status: 201, body, headers: { Location: '/x' } }));
    // @ts-expect-error: the body is not the answer's schema
    httpRoute(route, () => Promise.resolve({ status: 200, body: { thingId: 1 }, headers: { Location: '/x' } }));
    // @ts-expect-error: the documented Location header is left out
    httpRoute(route, () => Promise.resolve({ status: 200, body }));
    expect(typeof httpRoute(route, () => Promise.resolve({ status: 200, body, headers: { Location: '/x' } }))).toBe('function');
  });
});

describe('a route that verifies its callers itself', () => {
  const basic = {
    method: 'POST', path: '/oauth2/check', handler: 'check', scopes: ['tokens:introspect'], budget: 'unlimited', table: 'none', tag: 'tokens', summary: 'Check',
    authenticate: 'bearer-jwt-or-client-secret-basic',
    answers: { 200: { description: 'Checked.', schema: v.object({ sub: v.string() }) } },
  } as const satisfies RouteDefinition;
  // Stands in for a client-secret check: the gateway lets every request through to such a route.
  const authenticate = (event: HttpEvent) => {
    if (event.headers.authorization !== `Basic ${Buffer.from('rs-1:s3cret').toString('base64')}`) return Promise.reject(new UnauthorizedError('Bad client credentials'));
    return Promise.resolve({ sub: 'rs-1', orgId: 'acme', edition: 'Developer', scopes: new Set(['tokens:introspect']) });
  };
  const check = httpRoute(basic, ({ caller }) => Promise.resolve({ status: 200, body: { sub: caller.sub } }), { authenticate });
  const send = async (authorization: string) => {
    const result = await check(httpApiEvent({ method: 'POST', url: '/oauth2/check', routeKey: 'POST /oauth2/check', headers: { authorization } }), lambdaContext('check'));
    return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') as Record<string, unknown> };
  };

  it('is not behind the JWT authorizer, and answers the caller its check accepts', async () => {
    expect(behindJwtAuthorizer(basic)).toBe(false);
    expect(behindJwtAuthorizer(route)).toBe(true);
    expect(await send(`Basic ${Buffer.from('rs-1:s3cret').toString('base64')}`)).toEqual({ status: 200, body: { sub: 'rs-1' } });
    expect(await send(`Basic ${Buffer.from('rs-1:guess').toString('base64')}`)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('cannot be made without its authenticator', () => {
    expect(() => httpRoute(basic, ({ caller }) => Promise.resolve({ status: 200, body: { sub: caller.sub } }))).toThrow(/authenticator/);
  });
});

describe('a route that spends one of the org\'s request budgets', () => {
  it('cannot be made without the limiter (orgRoute gives it), nor can one that names none, which spends the admin budget', () => {
    const { budget: _unlimited, ...admin } = route;
    expect(() => httpRoute({ ...route, budget: 'introspect' }, () => Promise.resolve({ status: 200, body: { thingId: 'x', reason: null }, headers: { Location: '/x' } }))).toThrow(/introspect budget: build its handler with orgRoute/);
    expect(() => httpRoute(admin, () => Promise.resolve({ status: 200, body: { thingId: 'x', reason: null }, headers: { Location: '/x' } }))).toThrow(/admin budget/);
  });
});
