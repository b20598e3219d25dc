import { httpRoute, json } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';

export const handler = httpRoute(routes.health, () => Promise.resolve(json(200, { status: 'ok' })));
