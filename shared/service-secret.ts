/**
 * The service secret, in a module of its own so that only the functions that hash tokens or seal
 * cursors load it (and are granted it): `health` and `not-found` neither import nor may read it.
 */
import { config, optional, required } from './config.js';

function secretBytes(name: string, value: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 32) throw new Error(`${name} must be at least 32 bytes, base64-encoded`);
  return bytes;
}

/**
 * Key material for token hashing, token ids and list cursors: TOKEN_HASH_SECRET itself (local
 * runs), or the Secrets Manager secret TOKEN_HASH_SECRET_ARN names, read once per container so
 * the value never appears in the template or the function's configuration.
 */
export const serviceSecret: Buffer = await (async () => {
  const inline = optional('TOKEN_HASH_SECRET');
  if (inline) return secretBytes('TOKEN_HASH_SECRET', inline);
  const arn = required('TOKEN_HASH_SECRET_ARN');
  // Loaded only in AWS, and through a module that names the two exports it needs, so the bundle
  // keeps just those of the Secrets Manager client.
  const { readSecretString } = await import('./secrets.js');
  return secretBytes('TOKEN_HASH_SECRET_ARN', await readSecretString(config.region, arn));
})();
