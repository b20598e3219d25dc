import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The string value of a Secrets Manager secret (read once per container, at cold start). */
export async function readSecretString(region: string, secretId: string): Promise<string> {
  const client = new SecretsManagerClient({ region });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new Error(`Secret ${secretId} has no string value`);
    return out.SecretString;
  } finally {
    client.destroy();
  }
}
