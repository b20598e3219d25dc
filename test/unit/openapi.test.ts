import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { routeKey, routes, type Route } from '../../shared/routes.js';

interface Operation {
  operationId: string;
  security?: { bearer?: string[] }[];
  'x-planned'?: boolean;
}
const document = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
};
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation: operation as Operation })),
);

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route of the route table, with its scope, and serves nothing it calls planned', () => {
    for (const [name, route] of Object.entries(routes as Record<string, Route>)) {
      const documented = operations.find((o) => o.key === routeKey(route));
      expect(documented, routeKey(route)).toBeDefined();
      expect(documented?.operation.operationId).toBe(name);
      expect(documented?.operation['x-planned'], routeKey(route)).toBeUndefined();
      const scopes = documented?.operation.security?.flatMap((s) => s.bearer ?? []) ?? [];
      expect(scopes, routeKey(route)).toEqual(route.scope ? [route.scope] : []);
    }
  });

  it('lists no served operation that the route table lacks', () => {
    const served = new Set(Object.values(routes as Record<string, Route>).map(routeKey));
    const unplanned = operations.filter((o) => !o.operation['x-planned']).map((o) => o.key);
    expect(unplanned.filter((key) => !served.has(key))).toEqual([]);
  });
});
