/**
 * The standard chain (shared/http.ts) for a route of an org's caller: with the org's request
 * budgets (shared/domain/rate-limits.ts). Public routes use `httpRoute` alone, so their functions
 * bundle neither the limiter nor the table client it reports through.
 */
import { admit } from './domain/rate-limits.js';
import { httpRoute } from './http.js';

export const orgRoute: typeof httpRoute = (route, handle, options = {}) => httpRoute(route, handle, { ...options, admit });
