import { createClientSecret as route } from '../../shared/api/resource-servers.js';
import { newClientSecret } from '../../shared/domain/resource-servers.js';
import { orgRoute } from '../../shared/org-route.js';

/** A new client secret for HTTP Basic at /oauth2/introspect, shown once. */
export const handler = orgRoute(route, async ({ caller, path, now }) => ({ status: 201, body: await newClientSecret(caller, path.sub, now) }));
