/**
 * The route table: read by the CDK stack (to make routes and functions) and by the local server
 * (to dispatch). Each handler module names its own entry here, so a route is listed once.
 * `handler` is the file under functions/http/ that exports `handler`.
 */
export type Scope = 'usage:read' | 'apps:manage' | 'tokens:write' | 'tokens:introspect';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type TableAccess = 'none' | 'RO' | 'RO+UpdateItem' | 'RW';

export interface Route {
  method: HttpMethod;
  /** API Gateway path syntax: `{name}` is one path segment. */
  path: string;
  handler: string;
  /** null: public (no JWT authorizer). */
  scope: Scope | null;
  /** `problem`: RFC 9457 errors (/v1); `oauth`: RFC 6749 errors (/oauth2). */
  errors: 'problem' | 'oauth';
  /** What the body is parsed as before the handler sees it. */
  body: 'json' | 'form' | 'none';
  /** Least privilege for the deployed function: table access, and whether it sends to the revocation queue. */
  /**
   * What the function does to the table: nothing, reads, reads and records uses (UpdateItem only:
   * introspection), or reads and writes. Functions with table access also read the service secret.
   */
  table: TableAccess;
  enqueues?: true;
}

export const routes = {
  health: { method: 'GET', path: '/health', handler: 'health', scope: null, errors: 'problem', body: 'none', table: 'none' },
  openapiDocument: { method: 'GET', path: '/openapi.json', handler: 'openapi', scope: null, errors: 'problem', body: 'none', table: 'none' },
  createApp: { method: 'POST', path: '/v1/apps', handler: 'create-app', scope: 'apps:manage', errors: 'problem', body: 'json', table: 'RW' },
  listApps: { method: 'GET', path: '/v1/apps', handler: 'list-apps', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  getApp: { method: 'GET', path: '/v1/apps/{appId}', handler: 'get-app', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  updateSettings: { method: 'PATCH', path: '/v1/apps/{appId}', handler: 'update-settings', scope: 'apps:manage', errors: 'problem', body: 'json', table: 'RW' },
  replacePolicies: { method: 'PUT', path: '/v1/apps/{appId}/policies', handler: 'replace-policies', scope: 'apps:manage', errors: 'problem', body: 'json', table: 'RW', enqueues: true },
  listAppUsers: { method: 'GET', path: '/v1/apps/{appId}/users', handler: 'list-app-users', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  listUserApps: { method: 'GET', path: '/v1/users/{userId}/apps', handler: 'list-user-apps', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  listAuditEvents: { method: 'GET', path: '/v1/audit-events', handler: 'list-audit-events', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  listUserTokens: { method: 'GET', path: '/v1/apps/{appId}/users/{userId}/tokens', handler: 'list-user-tokens', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  revokeUserTokens: { method: 'DELETE', path: '/v1/apps/{appId}/users/{userId}/tokens', handler: 'revoke-user-tokens', scope: 'apps:manage', errors: 'problem', body: 'none', table: 'RW', enqueues: true },
  requestRevocation: { method: 'POST', path: '/v1/apps/{appId}/revocations', handler: 'request-revocation', scope: 'apps:manage', errors: 'problem', body: 'json', table: 'RW', enqueues: true },
  listRevocationJobs: { method: 'GET', path: '/v1/revocation-jobs', handler: 'list-revocation-jobs', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  getRevocationJob: { method: 'GET', path: '/v1/revocation-jobs/{jobId}', handler: 'get-revocation-job', scope: 'usage:read', errors: 'problem', body: 'none', table: 'RO' },
  cancelRevocationJob: { method: 'DELETE', path: '/v1/revocation-jobs/{jobId}', handler: 'cancel-revocation-job', scope: 'apps:manage', errors: 'problem', body: 'none', table: 'RW' },
  revokeToken: { method: 'DELETE', path: '/v1/apps/{appId}/users/{userId}/tokens/{tokenId}', handler: 'revoke-token', scope: 'apps:manage', errors: 'problem', body: 'none', table: 'RW', enqueues: true },
  registerToken: { method: 'POST', path: '/v1/tokens', handler: 'register-token', scope: 'tokens:write', errors: 'problem', body: 'json', table: 'RW' },
  introspect: { method: 'POST', path: '/oauth2/introspect', handler: 'introspect', scope: 'tokens:introspect', errors: 'oauth', body: 'form', table: 'RO+UpdateItem' },
  revoke: { method: 'POST', path: '/oauth2/revoke', handler: 'revoke', scope: 'tokens:write', errors: 'oauth', body: 'form', table: 'RW', enqueues: true },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof routes;

/**
 * Everything no route matches ($default in API Gateway): answers 404, or 405 with `Allow` when the
 * path exists under another method, as problem+json.
 */
export const fallbackRoute = { handler: 'not-found', errors: 'problem', body: 'none', scope: null, table: 'none' } as const;

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
