import { serviceKeys, type ServiceKeys } from '../service-secret.js';
import { ValidationError } from '../errors.js';
import { createSealer } from '../crypto.js';

let built: { keys: ServiceKeys; sealer: ReturnType<typeof createSealer> } | undefined;
/** The sealer of the key set the container holds now (rebuilt when the secret changed). */
const sealerNow = () => {
  const keys = serviceKeys();
  if (built?.keys !== keys) built = { keys, sealer: createSealer(keys) };
  return built.sealer;
};

/**
 * List cursors: the DynamoDB key to continue from, signed and bound to the org and the list it came
 * from (`list` names the list and its parameters), so a tampered or transplanted cursor is a 400.
 */
export const cursors = {
  encode(orgId: string, list: string, lastKey: Record<string, unknown> | undefined): string | null {
    return lastKey ? sealerNow().seal(`${orgId}\n${list}`, lastKey) : null;
  },
  decode(orgId: string, list: string, cursor: string | undefined): Record<string, unknown> | undefined {
    if (cursor === undefined) return undefined;
    const value = sealerNow().open(`${orgId}\n${list}`, cursor);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field('query.cursor', 'is not a cursor of this list');
    }
    return value as Record<string, unknown>;
  },
};
