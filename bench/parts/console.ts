import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildConsole } from '../../console/build.js';
import { createConsoleServer } from '../../local/console.js';
import { createLocalApi } from '../../local/http-server.js';
import { localIssuer } from '../../local/jwt.js';
import { createLocalOidc } from '../../local/oidc.js';
import { as, call, createApp, rawToken, register } from '../../test/support/api.js';
import { round, type Metric } from '../metric.js';

const CHROMIUM = '/usr/bin/chromium';
const APPS = 50;
const RUNS = 7;

/**
 * The console: what its first page loads (script and stylesheet, gzipped), and how long a
 * signed-in admin waits, in Debian's Chromium, from navigating to `/` to the OAuth Usage table
 * showing 50 apps (median of several navigations; each includes the silent sign-in of a reload).
 */
export async function measureConsole(options: { dataDir: string }): Promise<Metric[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-console-'));
  const built = buildConsole(outDir);
  const firstLoad = [built.js, ...built.chunks, built.css].reduce((sum, f) => sum + gzipSync(readFileSync(f)).length, 0);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get update && apt-get install -y chromium`);

  for (let i = 0; i < APPS; i++) {
    const appId = `app-${String(i).padStart(2, '0')}`;
    await createApp('acme', appId, { name: `App ${String(i).padStart(2, '0')}` });
    await register('acme', { token: rawToken('console'), type: 'access', appId, userId: `user-${i}` });
  }
  const listed = await call('listApps', { claims: as('acme'), query: { limit: '50' } });
  if ((listed.body.items ?? []).length !== APPS) throw new Error('the apps to render were not all listed');

  // The local server as `npm start` runs it: the API, the console and the local issuer, one origin.
  const probe = await createLocalApi(await localIssuer(options.dataDir, 'urn:probe', 'oauth-usage'));
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const base = `http://127.0.0.1:${port}`;
  const issuer = await localIssuer(options.dataDir, base, 'oauth-usage');
  const server = await createLocalApi(issuer, {
    console: createConsoleServer(outDir, { apiUrl: base, issuer: base, clientId: 'oauth-usage-console' }),
    oidc: createLocalOidc({ issuer, issuerUrl: base, clientId: 'oauth-usage-console' }),
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const rows = page.locator('tbody tr');
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      await page.goto(`${base}/`);
      await rows.nth(APPS - 1).waitFor();
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    return [
      { name: 'console.firstLoadGzipBytes', value: firstLoad, unit: 'bytes (script, its chunks and stylesheet, gzipped; the usage chart loads after)', limit: { max: 40_000 } },
      { name: 'console.listFirstRenderMs', value: round(samples[Math.floor(RUNS / 2)] as number, 1), unit: `ms to ${APPS} apps rendered (median of ${RUNS}, Chromium)`, limit: null },
    ];
  } finally {
    await browser.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
