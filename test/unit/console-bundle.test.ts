import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';

describe('the console bundle', () => {
  const built = buildConsole(mkdtempSync(join(tmpdir(), 'ou-console-build-')));
  // Every script: the entry, its chunks, and what loads after the first paint.
  const js = built.scripts.map((f) => readFileSync(f, 'utf8')).join('\n');

  it('loads the usage chart after the first paint: a script of its own, not among the first page\'s', () => {
    const chart = built.scripts.filter((f) => /usage-chart-/.test(f));
    expect(chart).toHaveLength(1);
    expect([built.js, ...built.chunks]).not.toContain(chart[0]);
  });

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
