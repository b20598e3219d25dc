/**
 * `npm run -s token -- --org <orgId> [--edition Developer] [--scope "usage:read apps:manage"] [--sub <id>] [--ttl <seconds>]`
 * Prints a JWT from the local issuer, and nothing else, on stdout.
 */
import { parseArgs } from 'node:util';
import { localIssuer } from './jwt.js';
import { localSettings } from './settings.js';

const { values } = parseArgs({
  options: {
    org: { type: 'string' },
    edition: { type: 'string', default: 'Developer' },
    scope: { type: 'string', default: 'usage:read apps:manage' },
    sub: { type: 'string', default: 'admin' },
    ttl: { type: 'string', default: '3600' },
  },
});

if (!values.org) {
  console.error('usage: npm run -s token -- --org <orgId> [--edition Developer] [--scope "usage:read apps:manage"] [--sub <id>] [--ttl <seconds>]');
  process.exit(2);
}

const settings = localSettings();
const issuer = await localIssuer(settings.dataDir, settings.jwtIssuer, settings.jwtAudience);
process.stdout.write(`${await issuer.mint({ sub: values.sub, org_id: values.org, org_edition: values.edition, scope: values.scope }, Number(values.ttl))}\n`);
