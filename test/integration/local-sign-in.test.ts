import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localIssuer } from '../../local/jwt.js';
import { createLocalOidc } from '../../local/oidc.js';

/** The local sign-in teaches good habits: exact redirect URIs, no login CSRF, no framing, a real sign-out. */
let server: Server;
let base: string;
const clientId = 'oauth-usage-console';

beforeAll(async () => {
  const { createServer } = await import('node:http');
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as AddressInfo;
      probe.close(() => resolve(p));
    });
  });
  base = `http://127.0.0.1:${port}`;
  const issuer = await localIssuer(mkdtempSync(join(tmpdir(), 'ou-oidc-')), base, 'oauth-usage');
  const oidc = createLocalOidc({ issuer, issuerUrl: base, clientId });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void oidc(req, res, Buffer.concat(chunks).toString()).then((handled) => handled || res.writeHead(404).end()));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
});
afterAll(() => {
  server?.close();
});

const authorizeQuery = (redirectUri = `${base}/callback`) => new URLSearchParams({
  client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's',
});
const signInForm = (origin: string | undefined) => fetch(`${base}/authorize`, {
  method: 'POST', redirect: 'manual',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
  body: new URLSearchParams([...authorizeQuery(), ['org', 'evil-org'], ['user', 'mallory'], ['scopes', 'apps:manage']]).toString(),
});

describe('the local sign-in', () => {
  it('redirects only to the console\'s exact callback', async () => {
    for (const uri of [`${base}/callback?x=1`, `${base}/elsewhere`, 'https://evil.example/callback']) {
      expect((await fetch(`${base}/authorize?${authorizeQuery(uri).toString()}`, { redirect: 'manual' })).status).toBe(400);
    }
    const form = await fetch(`${base}/authorize?${authorizeQuery().toString()}`, { redirect: 'manual' });
    expect(form.status).toBe(200);
    // Not to be framed.
    expect(form.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(form.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses its form posted from another site (login CSRF), signs in from its own', async () => {
    expect((await signInForm('https://evil.example')).status).toBe(403);
    expect((await signInForm(undefined)).status).toBe(403);
    const own = await signInForm(base);
    expect(own.status).toBe(302);
    expect(own.headers.get('location')).toMatch(new RegExp(`^${base}/callback\\?code=`));
    expect(own.headers.get('set-cookie')).toMatch(/Max-Age=\d+/); // the session expires
  });

  it('ends a session after its 8 hours, and keeps at most 1,000 (the oldest go first)', async () => {
    const sessionOf = async () => ((await signInForm(base)).headers.get('set-cookie') ?? '').split(';')[0] as string;
    const silent = async (session: string) => (await fetch(`${base}/authorize?${authorizeQuery().toString()}`, { redirect: 'manual', headers: { cookie: session } })).status === 302;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const session = await sessionOf();
      expect(await silent(session)).toBe(true);
      vi.setSystemTime(Date.now() + 8 * 3_600_000 - 1_000);
      expect(await silent(session)).toBe(true);
      vi.setSystemTime(Date.now() + 2_000);
      expect(await silent(session)).toBe(false); // the form again
    } finally {
      vi.useRealTimers();
    }
    const first = await sessionOf();
    for (let n = 0; n < 999; n++) await sessionOf();
    expect(await silent(first)).toBe(true); // 1,000 live sessions: all kept
    await sessionOf();
    expect(await silent(first)).toBe(false); // the 1,001st pushes out the oldest
  });

  it('signs out with the session\'s ID token, or after a confirmation posted from itself; a bare GET only asks', async () => {
    const own = await signInForm(base);
    const session = (own.headers.get('set-cookie') ?? '').split(';')[0] as string;
    // A link or an image on another site: nothing ends, the page asks.
    const bare = await fetch(`${base}/logout?post_logout_redirect_uri=${encodeURIComponent(`${base}/`)}`, { headers: { cookie: session }, redirect: 'manual' });
    expect(bare.status).toBe(200);
    expect(await bare.text()).toContain('<form method="post" action="/logout">');
    const stillIn = await fetch(`${base}/authorize?${authorizeQuery().toString()}`, { headers: { cookie: session }, redirect: 'manual' });
    expect(stillIn.status).toBe(302); // signed in silently: the session lives
    // The confirmation, posted from this origin: signed out, back to the console.
    const confirmed = await fetch(`${base}/logout`, {
      method: 'POST', redirect: 'manual', headers: { cookie: session, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ post_logout_redirect_uri: `${base}/` }).toString(),
    });
    expect([confirmed.status, confirmed.headers.get('location')]).toEqual([302, `${base}/`]);
    const after = await fetch(`${base}/authorize?${authorizeQuery().toString()}`, { headers: { cookie: session }, redirect: 'manual' });
    expect(after.status).toBe(200); // the sign-in form again
  });
});
