import { createTokenHasher, type TokenHasher } from '../crypto.js';
import { serviceKeys, type ServiceKeys } from '../service-secret.js';

let built: { keys: ServiceKeys; hasher: TokenHasher } | undefined;
/** The hasher of the key set the container holds now (rebuilt when the secret changed). */
const current = (): TokenHasher => {
  const keys = serviceKeys();
  if (built?.keys !== keys) built = { keys, hasher: createTokenHasher(keys) };
  return built.hasher;
};

/** The service's token hasher (lookup keys and ids under every key version of the secret). */
export const hasher: TokenHasher = {
  digest: (name) => current().digest(name),
  lookupKeysOf: (name) => current().lookupKeysOf(name),
  contestedKeysOf: (name) => current().contestedKeysOf(name),
  lookupKeyOf: (tokenId) => current().lookupKeyOf(tokenId),
  storedLookupKeyOf: (tokenId) => current().storedLookupKeyOf(tokenId),
};
