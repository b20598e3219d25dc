import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';

describe('the console bundle', () => {
  const built = buildConsole(mkdtempSync(join(tmpdir(), 'ou-console-build-')));
  const js = readFileSync(built.js, 'utf8');

  it('holds no development-only code: the sign-in form and the local issuer live in the local server', () => {
    for (const devOnly of ['Development sign-in', 'ou_local_session', '/authorize', 'oauth-usage-console', 'signInForm', '127.0.0.1:3000']) {
      expect(js, devOnly).not.toContain(devOnly);
    }
  });

  it('keeps tokens in memory: nothing of a token reaches localStorage or sessionStorage', () => {
    expect(js).not.toContain('localStorage');
    // The PKCE verifier, state, nonce and return path; and when it last signed in again after a refusal (a time).
    const writes = js.match(/sessionStorage\.setItem\([^)]*\)/g) ?? [];
    expect(writes).toHaveLength(2);
    expect(writes.filter((w) => w.includes('String(Date.now(')), writes.join(' ')).toHaveLength(1);
  });
});
