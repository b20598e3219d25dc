import { health } from '../../shared/api/service.js';
import { httpRoute } from '../../shared/http.js';

export const handler = httpRoute(health, () => Promise.resolve({ status: 200, body: { status: 'ok' } }));
