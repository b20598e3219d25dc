import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { localIssuer } from '../../local/jwt.js';

/** Debian's Chromium; the tests drive it and never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const INSTALL = 'apt-get update && apt-get install -y chromium';

export interface LocalService {
  base: string;
  /** Its DATA_DIR (the console it built is under `console/`). */
  dataDir: string;
  /** Calls the API with a token of the local issuer (org acme, every scope unless told). */
  api: (method: string, path: string, body?: unknown, scope?: string) => Promise<{ status: number; body: Record<string, unknown> }>;
  /** One use of a token, as a resource server makes it (RFC 7662). */
  introspect: (raw: string) => Promise<boolean>;
  stop: () => Promise<void>;
}

export const freePort = () => new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo;
    probe.close(() => resolve(port));
  });
});

/**
 * `npm start`, as a newcomer runs it, on a free port with its own data and table (the test run's
 * DynamoDB Local and SQS); `otherConsoleOrigins` are allowed beside its own (CONSOLE_ORIGINS).
 */
export async function startService({ otherConsoleOrigins = [] as string[] } = {}): Promise<LocalService> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ou-console-'));
  const issuer = await localIssuer(dataDir, base, 'oauth-usage'); // the server then uses the same key
  const server: ChildProcess = spawn(join('node_modules', '.bin', 'tsx'), ['local/main.ts'], {
    env: {
      ...process.env, PORT: String(port), DATA_DIR: dataDir, TABLE_NAME: `console-${port}`, QUEUE_URL: '',
      DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'), SQS_ENDPOINT: inject('sqsEndpoint'), SWEEP_INTERVAL_SECONDS: '3600', TOKEN_HASH_SECRET: '',
      CONSOLE_ORIGINS: [base, ...otherConsoleOrigins].join(','),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`ready at ${base}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    server.stdout?.on('data', read);
    server.stderr?.on('data', read);
    server.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const token = (scope: string) => issuer.mint({ sub: 'seed@acme.example', org_id: 'acme', org_edition: 'Developer', scope });
  return {
    base,
    dataDir,
    async api(method, path, body, scope = 'usage:read apps:manage tokens:write tokens:introspect') {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${await token(scope)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async introspect(raw) {
      const response = await fetch(`${base}/oauth2/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token('tokens:introspect')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: raw }).toString(),
      });
      return ((await response.json()) as { active: boolean }).active;
    },
    stop: async () => {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    },
  };
}

/** Chromium, or a failure that says how to install it (never a skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}. Install it with: ${INSTALL}`);
  return chromium.launch({ executablePath: CHROMIUM });
}

/** Signs in through the local issuer's development form, as whoever the form says. */
export async function signIn(page: Page, base: string, as: { scopes?: string; edition?: string; user?: string } = {}): Promise<void> {
  await page.goto(`${base}/`);
  await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
  if (as.scopes !== undefined) await page.getByLabel('Scopes').fill(as.scopes);
  if (as.edition !== undefined) await page.getByLabel('Edition').selectOption(as.edition);
  if (as.user !== undefined) await page.getByLabel('User').fill(as.user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

/** Zero axe-core violations on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
}

const shots = join('docs', 'screenshots');
/** Saves a screenshot of the page for the README. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
