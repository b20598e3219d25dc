import { createTokenHasher } from '../crypto.js';
import { serviceKeys } from '../service-secret.js';

/** The service's token hasher (lookup keys and ids under every key version of the secret). */
export const hasher = createTokenHasher(serviceKeys);
