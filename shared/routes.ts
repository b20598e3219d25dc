/**
 * The route table: every route's definition (shared/api/), by operation name. Read by the CDK
 * stack (to make routes and functions), the local server (to dispatch) and `npm run openapi`. A
 * function imports its own definition from shared/api/, not this table.
 */
import * as apps from './api/apps.js';
import * as audit from './api/audit.js';
import { tags, type HttpMethod, type RouteDefinition } from './api/define.js';
import * as issuers from './api/issuers.js';
import * as resourceServers from './api/resource-servers.js';
import * as revocations from './api/revocations.js';
import * as service from './api/service.js';
import * as tokens from './api/tokens.js';
import * as usage from './api/usage.js';
import * as users from './api/users.js';

export type { HttpMethod, RouteDefinition, TableAccess } from './api/define.js';
export type { Scope } from './registries.js';

/** A module's route definitions (it also exports the schemas of their answers). */
type RoutesIn<M> = { [K in keyof M as M[K] extends RouteDefinition ? K : never]: M[K] };
const isRoute = (value: unknown): value is RouteDefinition => typeof value === 'object' && value !== null && 'method' in value && 'path' in value;
const routesIn = <M extends object>(module: M) => Object.fromEntries(Object.entries(module).filter(([, value]) => isRoute(value))) as RoutesIn<M>;

/** The modules' routes as one table; a name given twice would lose a route, so it is an error. */
function table(...parts: object[]): Record<string, RouteDefinition> {
  const all: Record<string, RouteDefinition> = {};
  for (const part of parts) {
    for (const [name, route] of Object.entries(part) as [string, RouteDefinition][]) {
      if (name in all) throw new Error(`Two routes are named ${name}`);
      all[name] = route;
    }
  }
  return all;
}

export const routes = table(routesIn(service), routesIn(tokens), routesIn(apps), routesIn(usage), routesIn(users), routesIn(revocations), routesIn(resourceServers), routesIn(issuers), routesIn(audit)) as
  RoutesIn<typeof service> & RoutesIn<typeof tokens> & RoutesIn<typeof apps> & RoutesIn<typeof usage> & RoutesIn<typeof users> & RoutesIn<typeof revocations> & RoutesIn<typeof resourceServers> & RoutesIn<typeof issuers> & RoutesIn<typeof audit>;

export type RouteName = keyof typeof routes;
export type Route = RouteDefinition;

const methodOrder: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/**
 * The routes by name in one fixed order, whatever order a module loader lists a namespace's
 * exports in: by tag (as the document groups them), then path, then method.
 */
export const orderedRoutes = (): [RouteName, Route][] => (Object.entries(routes) as [RouteName, Route][]).sort(([, a], [, b]) =>
  Object.keys(tags).indexOf(a.tag) - Object.keys(tags).indexOf(b.tag) || a.path.localeCompare(b.path) || methodOrder.indexOf(a.method) - methodOrder.indexOf(b.method));

/**
 * Everything no route matches ($default in API Gateway, behind the JWT authorizer but needing no
 * scope): answers 404, or 405 with `Allow` when the path exists under another method, as problem+json.
 */
export const fallbackRoute = { path: '$default', handler: 'not-found', table: 'none', answers: {} } as const;

/** Every OPTIONS, without a token: the browsers' CORS preflights (shared/cors.ts; functions/http/cors-preflight.ts). */
export const preflightRoute = { path: 'OPTIONS /{proxy+}', handler: 'cors-preflight', table: 'none', answers: {} } as const;

export const routeKey = (route: Pick<Route, 'method' | 'path'>) => `${route.method} ${route.path}`;

/** A matcher for a route path: `/v1/apps/{appId}` → named groups, one segment each. */
export function pathPattern(path: string): RegExp {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)');
  return new RegExp(`^${source}$`);
}

const compiled = Object.values(routes as Record<string, Route>).map((route) => ({ route, pattern: pathPattern(route.path) }));

/** The route for a method and path; or the methods the path allows when only the method is wrong. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | { allowed: HttpMethod[] } {
  const onPath = compiled.filter((c) => c.pattern.test(path));
  const hit = onPath.find((c) => c.route.method === method);
  if (hit) {
    const groups = hit.pattern.exec(path)?.groups ?? {};
    return { route: hit.route, params: Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, safeDecode(v)])) };
  }
  return { allowed: onPath.map((c) => c.route.method) };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
