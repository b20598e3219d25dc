import { createClientSecret as route } from '../../shared/api/resource-servers.js';
import { newClientSecret } from '../../shared/domain/resource-servers.js';
import { httpRoute } from '../../shared/http.js';

/** A new client secret for HTTP Basic at /oauth2/introspect, shown once. */
export const handler = httpRoute(route, async ({ caller, path, now }) => ({ status: 201, body: await newClientSecret(caller, path.sub, now) }));
