import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import document from '../../docs/openapi.json' with { type: 'json' };
import { generatedFiles } from '../../scripts/openapi/main.js';
import { actorKinds, auditActions, problemTypes, problemUri, scopes, type ProblemType } from '../../shared/registries.js';
import { routeKey, routes, type Route } from '../../shared/routes.js';
import { documentExamples, httpResponseProblems, responseProblems, schemaProblems } from '../support/openapi.js';

interface Operation {
  operationId: string;
  security?: { bearer?: string[] }[];
  responses: Record<string, { $ref?: string }>;
  requestBody?: unknown;
}
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation: operation as Operation })),
);
const problem = (type: string, status: number) => ({
  status, headers: { 'content-type': 'application/problem+json' },
  text: JSON.stringify({ type: `urn:oauth-usage:problem:${type}`, title: 'T', status, detail: 'D' }),
});
const schemas = document.components.schemas as Record<string, { properties?: Record<string, { enum?: string[]; properties?: Record<string, { enum?: string[] }> }> }>;

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` writes from the route definitions (and so are docs/api.md and the API types)', async () => {
    for (const [path, content] of Object.entries(await generatedFiles())) {
      expect(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), `${path} is stale: run npm run openapi`).toBe(content);
    }
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents exactly the routes of the route table, each with its scopes (any one of them) or none when public', () => {
    for (const [name, route] of Object.entries(routes as Record<string, Route>)) {
      const documented = operations.find((o) => o.key === routeKey(route));
      expect(documented, routeKey(route)).toBeDefined();
      expect(documented?.operation.operationId).toBe(name);
      // A route that verifies its callers itself also takes a declared resource server's HTTP Basic credentials.
      const basic = route.authenticate ? [{ clientSecretBasic: [] }] : [];
      expect(documented?.operation.security, routeKey(route)).toEqual(route.scopes ? [...route.scopes.map((scope) => ({ bearer: [scope] })), ...basic] : []);
    }
    const served = new Set(Object.values(routes as Record<string, Route>).map(routeKey));
    expect(operations.map((o) => o.key).filter((key) => !served.has(key))).toEqual([]);
  });

  it('names every problem type, audit action, actor kind and scope exactly as the registries list them', () => {
    expect(schemas.Problem?.properties?.type?.enum).toEqual((Object.keys(problemTypes) as ProblemType[]).map(problemUri));
    expect(schemas.AuditEvent?.properties?.action?.enum).toEqual(Object.keys(auditActions));
    expect(schemas.AuditEvent?.properties?.actor?.properties?.kind?.enum).toEqual([...actorKinds]);
    const used = new Set(operations.flatMap((o) => o.operation.security?.flatMap((s) => s.bearer ?? []) ?? []));
    expect([...used].sort()).toEqual(Object.keys(scopes).sort());
  });

  it('lists on every operation the answers every route can give: the gateway\'s 401 and 429, scope and edition 403, 400, 413, 500', () => {
    for (const { key, operation } of operations) {
      const route = (routes as Record<string, Route>)[operation.operationId] as Route;
      const codes = Object.keys(operation.responses);
      expect(codes, key).toEqual(expect.arrayContaining(['413', '429']));
      if (!route.scopes) continue;
      expect(codes, key).toEqual(expect.arrayContaining(['400', '401', '403', '500']));
      expect(operation.requestBody !== undefined, key).toBe(route.input?.body !== undefined);
    }
  });

  it('gives every operation an example of its success answer and of its request body', () => {
    const examples = documentExamples();
    for (const { key, operation } of operations) {
      const at = `#/paths/${key.split(' ')[1]?.replaceAll('/', '~1')}/${key.split(' ')[0]?.toLowerCase()}`;
      const success = Object.entries(operation.responses).filter(([code, r]) => code < '300' && 'content' in r).map(([code]) => code);
      for (const code of success) expect(examples.some((e) => e.where.startsWith(`${at}/responses/${code}/`)), `${key} ${code}`).toBe(true);
      if (operation.requestBody) expect(examples.some((e) => e.where.startsWith(`${at}/requestBody/`)), `${key} request`).toBe(true);
    }
  });

  it('has examples that satisfy their own schemas', () => {
    const examples = documentExamples();
    expect(examples.length).toBeGreaterThan(40);
    for (const example of examples) expect(schemaProblems(example.schemaPointer, example.value), example.where).toEqual([]);
  });

  it('makes the response check fail on an undocumented status, media type, header or body', () => {
    expect(responseProblems('getApp', problem('not-found', 404))).toEqual([]);
    // A status the operation does not list: what a drifting handler would produce.
    expect(responseProblems('getApp', problem('conflict', 409)).join()).toMatch(/status 409 is not documented/);
    expect(responseProblems('health', { status: 418, headers: {}, text: '' }).join()).toMatch(/status 418 is not documented/);
    // A documented status with the wrong media type, a missing required header, a body off its schema.
    expect(responseProblems('getApp', { ...problem('not-found', 404), headers: { 'content-type': 'text/plain' } }).join()).toMatch(/media type "text\/plain"/);
    expect(responseProblems('requestRevocation', { status: 202, headers: { 'content-type': 'application/json' }, text: '{}' }).join()).toMatch(/header Location is required/);
    expect(responseProblems('getApp', problem('no-such-type', 404)).join()).toMatch(/must be equal to one of the allowed values/);
    // A problem type the operation does not document under that status, or a body whose status is another.
    expect(responseProblems('getApp', problem('token-revoked', 404)).join()).toMatch(/must be equal to one of the allowed values/);
    expect(responseProblems('registerToken', problem('token-revoked', 409))).toEqual([]);
    expect(responseProblems('createApp', problem('token-revoked', 409)).join()).toMatch(/must be equal to one of the allowed values/);
    expect(responseProblems('getApp', { ...problem('not-found', 404), text: JSON.stringify({ type: 'urn:oauth-usage:problem:not-found', title: 'T', status: 409, detail: 'D' }) }).join()).toMatch(/must be equal to constant/);
    expect(responseProblems('revokeToken', { status: 204, headers: {}, text: '{"revoked":true}' }).join()).toMatch(/no body is documented/);
    expect(responseProblems('introspect', { status: 200, headers: { 'content-type': 'application/json' }, text: '{"active":false,"sub":"ada"}' })).not.toEqual([]);
    // The gateway's own answers, as the HTTP tests see them.
    expect(httpResponseProblems('GET', '/nowhere', { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }, text: '{"message":"Unauthorized"}' })).toEqual([]);
    expect(httpResponseProblems('GET', '/nowhere', { status: 401, headers: { 'content-type': 'application/json' }, text: '{"message":"Unauthorized"}' }).join()).toMatch(/WWW-Authenticate is required/);
  });

  it('is what docs/api.md describes: every operation with exactly its status codes, every problem type, audit action and scope', () => {
    const page = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const sections = new Map(page.split('\n### `').slice(1).map((section) => [section.slice(0, section.indexOf('`')), section]));
    expect([...sections.keys()].sort()).toEqual(operations.map((o) => o.key).sort());
    for (const { key, operation } of operations) {
      const answers = /^Answers: (.+)\.$/m.exec(sections.get(key) ?? '')?.[1]?.split(', ');
      expect(answers, key).toEqual(Object.keys(operation.responses));
    }
    for (const [type, { status }] of Object.entries(problemTypes)) expect(page, type).toContain(`| \`${type}\` | ${status} |`);
    for (const name of [...Object.keys(auditActions), ...Object.keys(scopes)]) expect(page, name).toContain(`| \`${name}\` |`);
  });
});
