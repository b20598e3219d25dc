import document from '../../docs/openapi.json' with { type: 'json' };
import { httpRoute } from '../../shared/http.js';
import { routes } from '../../shared/routes.js';

/** The API's OpenAPI 3.1 document (docs/openapi.json, bundled), public like /health, for tools that point at a running service. */
const body = JSON.stringify(document);

export const handler = httpRoute(routes.openapiDocument, () =>
  Promise.resolve({ statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }, body }),
);
