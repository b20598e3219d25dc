import { describe, expect, it } from 'vitest';
import { budgetOf } from '../../shared/api/define.js';
import { routes, type Route } from '../../shared/routes.js';

describe("the org's request budgets each route spends", () => {
  const all = Object.entries(routes as Record<string, Route>);
  it('are none for every revocation (and for ending a resource server\'s secrets or an issuer\'s trust), and one for every other guarded route', () => {
    const revocations = ['revoke', 'revokeToken', 'revokeClientToken', 'revokeUserTokens', 'requestRevocation', 'blockApp', 'offboardUser', 'revokeClientSecrets', 'deleteResourceServer', 'distrustIssuer'];
    expect(all.filter(([, route]) => route.scopes && budgetOf(route) === undefined).map(([name]) => name).sort()).toEqual([...revocations].sort());
  });

  it('are the registration budget for the authorization server\'s calls, introspection included, and never the admin one', () => {
    const as = new Set(['tokens:write', 'tokens:introspect']);
    for (const name of ['registerToken', 'declareClient', 'introspect', 'getPolicies'] as const) expect(budgetOf(routes[name], as), name).toBe('register');
    expect(budgetOf(routes.introspect, new Set(['tokens:introspect']))).toBe('introspect');
    expect(budgetOf(routes.getPolicies, new Set(['usage:read']))).toBe('admin');
    expect(budgetOf(routes.listApps, new Set(['usage:read']))).toBe('admin');
  });
});
