import document from '../../docs/openapi.json' with { type: 'json' };
import { openapiDocument } from '../../shared/api/service.js';
import { httpRoute } from '../../shared/http.js';

/** The API's OpenAPI 3.1 document (docs/openapi.json, bundled), public like /health, for tools that point at a running service. */
export const handler = httpRoute(openapiDocument, () => Promise.resolve({ status: 200, body: document, headers: { 'cache-control': 'public, max-age=300' } }));
