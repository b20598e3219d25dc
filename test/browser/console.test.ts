import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createConsoleServer } from '../../local/console.js';
import { expectAccessible, freePort, launchChromium, screenshot, signIn, startService, type LocalService } from './support.js';
import { epoch, startTestIssuer } from '../support/jwt-issuer.js';

/**
 * The OAuth Usage console in Debian's Chromium against `npm start`: one test per flow of the help
 * article, axe-core on every page, and the screenshots the README shows.
 */
let service: LocalService;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function seed() {
  const apps: [string, string, number][] = [['crm-sync', 'CRM Sync', 6], ['billing', 'Billing', 4], ['analytics', 'Analytics', 3], ['mail', 'Mail Relay', 2]];
  for (const [appId, name, users] of apps) {
    expect((await service.api('POST', '/v1/apps', { appId, name, description: `${name} integration`, contactEmail: 'owner@acme.example' })).status).toBe(201);
    for (let u = 1; u <= users; u++) {
      const userId = `${appId.slice(0, 1)}${u}@acme.example`;
      for (let t = 0; t < (u % 2) + 1; t++) {
        const token = `${appId}-${u}-${t}-raw-token-value-0123456789`;
        const reply = await service.api('POST', '/v1/tokens', { token, type: 'access', appId, userId, userName: `User ${u} of ${name}`, scopes: ['api'] });
        expect(reply.status).toBe(201);
        for (let use = 0; use < u % 3; use++) expect(await service.introspect(token)).toBe(true);
      }
    }
  }
}

/** Where the console is also served from, as CloudFront serves it deployed: another origin (and site) than the API's. */
let otherOrigin: string;
const otherConsoles = new Map<string, Server>();
/** Serves the console `npm start` built, with its config naming the API, on `origin`'s port (once). */
async function serveConsoleAt(origin: string): Promise<void> {
  if (otherConsoles.has(origin)) return;
  const handle = createConsoleServer(join(service.dataDir, 'console'), { apiUrl: service.base, issuer: service.base, clientId: 'oauth-usage-console' });
  const server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end();
  });
  otherConsoles.set(origin, server);
  await new Promise<void>((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
}

beforeAll(async () => {
  otherOrigin = `http://localhost:${await freePort()}`;
  [service, browser] = await Promise.all([startService({ otherConsoleOrigins: [otherOrigin] }), launchChromium()]);
  await seed();
}, 120_000);
afterAll(async () => {
  for (const server of otherConsoles.values()) server.close();
  await browser?.close();
  await service?.stop();
});
const fresh = async (viewport = { width: 1280, height: 800 }, options: { timezoneId?: string } = {}) => {
  context = await browser.newContext({ viewport, ...options });
  // No action waits for ever: a step that cannot happen fails with what it waited for.
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  return page;
};
afterEach(async () => {
  await context?.close();
});

/** What a locator shows now, without waiting for it to exist (expect.poll does the waiting). */
const textOf = (locator: ReturnType<Page['locator']>) => locator.allInnerTexts().then((texts) => texts.join('\n'));
const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
const status = () => page.getByRole('status');

describe('the OAuth Usage console', () => {
  it('runs in Debian\'s Chromium 156', () => {
    expect(browser.version()).toMatch(/^156\./);
  });

  it('signs in, lists the apps with active tokens, opens one, and edits its Policies', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await expect.poll(() => heading('OAuth Usage').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('link', { name: 'CRM Sync', exact: true }).isVisible()).toBe(true);
    const row = page.getByRole('row', { name: /CRM Sync/ });
    expect(await row.getByRole('cell').nth(1).innerText()).toBe('9'); // active tokens, with the viewer's separators
    await expectAccessible(page);
    await screenshot(page, 'oauth-usage');

    await page.getByRole('link', { name: 'CRM Sync', exact: true }).click();
    await expect.poll(() => heading('CRM Sync').isVisible()).toBe(true);
    await page.getByRole('tab', { name: 'Policies' }).click();
    expect(await page.getByRole('tab', { name: 'Policies' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Expire refresh token after').check();
    await page.getByLabel('Value').fill('30');
    await page.getByLabel('Unit').selectOption('days');
    await page.getByLabel('Access token lifetime (minutes)').fill('120');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByText('Expire refresh token after 30 days').isVisible()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'app-policies');
    const app = await service.api('GET', '/v1/apps/crm-sync');
    expect(app.body.policies).toMatchObject({ refreshTokenPolicy: { mode: 'expire-after', value: 30, unit: 'days' }, accessTokenLifetimeMinutes: 120 });

    // The URL holds the tab: a reload (which signs in again silently) comes back to it.
    await page.reload();
    await expect.poll(() => page.getByText('Expire refresh token after 30 days').isVisible()).toBe(true);
  });

  it('draws usage over time on the app and on a user, with the API\'s numbers in a table beside the chart', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    const numbersIn = async () => {
      await page.getByText('The numbers, day by day').click();
      return page.evaluate<string[][]>("[...document.querySelectorAll('.chart tbody tr')].map((r) => [...r.children].map((c) => c.textContent.trim()))");
    };
    // The chart's module fails to load once (a network blip, or a deploy that replaced it): said, with Retry.
    await page.route('**/assets/usage-chart-*.js', (route) => route.abort('connectionrefused'), { times: 1 });
    await page.goto(`${service.base}/apps/crm-sync`);
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('The chart could not be loaded');
    for (let retry = 0; retry < 2 && (await page.getByRole('alert').count()) > 0; retry++) {
      await page.getByRole('button', { name: 'Retry' }).click(); // the second reloads the page, should the browser keep the failed import
      await page.waitForLoadState();
    }
    await expect.poll(() => page.getByRole('img', { name: /^Uses of CRM Sync a day: / }).isVisible()).toBe(true);
    const app = (await service.api('GET', '/v1/apps/crm-sync/usage')).body as { days: { date: string; uses: number; activeUsers: number }[] };
    expect(app.days.reduce((sum, d) => sum + d.uses, 0), 'the browser tests\' users used the app').toBeGreaterThan(0);
    expect(await numbersIn()).toEqual(app.days.map((d) => [d.date, String(d.uses), String(d.activeUsers)]));
    // The image is named by its caption, the summary of the same numbers; a bar a day, as tall as its uses.
    expect(await textOf(page.locator('.chart figcaption'))).toContain(`${app.days.reduce((sum, d) => sum + d.uses, 0)} uses`);
    const heights = await page.evaluate<number[]>("[...document.querySelectorAll('.chart svg rect')].map((r) => Number(r.getAttribute('height')))");
    const peak = Math.max(...app.days.map((d) => d.uses));
    expect(heights.map((h) => Math.round((h / 58) * peak))).toEqual(app.days.map((d) => d.uses));
    await expectAccessible(page);
    await screenshot(page, 'app-usage-over-time');

    const user = (await service.api('GET', '/v1/apps/crm-sync/users?sort=-lastUsedAt&limit=1')).body as { items: { userId: string }[] };
    const userId = user.items[0]?.userId as string;
    await page.goto(`${service.base}/apps/crm-sync/users/${encodeURIComponent(userId)}/tokens`);
    await expect.poll(() => page.getByRole('img', { name: /^Uses of crm-sync by / }).isVisible()).toBe(true);
    const mine = (await service.api('GET', `/v1/apps/crm-sync/users/${encodeURIComponent(userId)}/usage`)).body as { days: { date: string; uses: number }[] };
    expect(await numbersIn()).toEqual(mine.days.map((d) => [d.date, String(d.uses)]));
    await expectAccessible(page);
  });

  it('shows a field the API refused next to that field', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/mail`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Callback URLs').fill('ftp://not-http.example');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#settings-callbackUrls-error').isVisible()).toBe(true);
    expect(await page.getByLabel('Callback URLs').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#settings-callbackUrls-error').innerText()).toMatch(/http/);
  });

  it('opens Usage by User from the user count and revokes one user', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.getByRole('link', { name: '6 users of CRM Sync' }).click();
    await expect.poll(() => heading('Usage by User').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('row', { name: /c1@acme\.example/ }).isVisible()).toBe(true);
    for (const column of ['First used', 'Most recent use', 'Number of uses']) expect(await page.getByRole('columnheader', { name: column }).isVisible()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'usage-by-user');

    await page.getByRole('button', { name: 'Revoke c1@acme.example' }).click();
    const dialog = page.getByRole('dialog');
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await expect.poll(() => textOf(status())).toMatch(/succeeded: 1 users done, 2 tokens revoked/);
    await expect.poll(() => page.getByRole('row', { name: /c1@acme\.example/ }).count()).toBe(0);
    await expect.poll(() => page.getByText('5 users hold 7 active tokens').isVisible()).toBe(true);
  });

  it('selects three users, Bulk Revokes them with progress, and shows the new counts', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/billing/users`);
    await expect.poll(() => page.getByRole('checkbox', { name: 'Select b1@acme.example' }).isVisible()).toBe(true);
    const bulk = page.getByRole('button', { name: /^Bulk Revoke/ });
    expect(await bulk.isDisabled()).toBe(true);
    for (const u of [1, 2, 3]) await page.getByRole('checkbox', { name: `Select b${u}@acme.example` }).check();
    await bulk.click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => textOf(dialog)).toContain('This revokes 5 active tokens of 3 users.');
    await dialog.getByLabel('Reason (optional)').fill('Contractors left');
    await expectAccessible(page);
    await screenshot(page, 'bulk-revoke');
    await dialog.getByRole('button', { name: 'Bulk Revoke', exact: true }).click();
    await expect.poll(() => textOf(status())).toMatch(/succeeded: 3 users done, 5 tokens revoked/);
    await expect.poll(() => page.getByText('1 users hold 1 active tokens').isVisible()).toBe(true);
    expect(await page.getByRole('row', { name: /b4@acme\.example/ }).isVisible()).toBe(true);
  });

  it('revokes one token of a user', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/mail/users`);
    await page.getByRole('link', { name: 'Tokens of m1@acme.example' }).click();
    await expect.poll(() => heading('Tokens of m1@acme.example').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: /^Revoke access token/ }).count()).toBe(2);
    await expectAccessible(page);
    await screenshot(page, 'tokens');
    await page.getByRole('button', { name: /^Revoke access token/ }).first().click();
    const sent = page.waitForRequest((r) => r.method() === 'DELETE' && r.url().includes('/tokens/'));
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
    expect((await sent).headers()['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/); // every revocation carries one
    await expect.poll(() => textOf(status())).toContain('The access token was revoked');
    await expect.poll(() => page.getByRole('button', { name: /^Revoke access token/ }).count()).toBe(1);
  });

  it('trusts an issuer on the Trusted issuers page, shows what it contributed and marks its learned tokens, and removes it', { timeout: 60_000 }, async () => {
    const idp = await startTestIssuer();
    try {
      await fresh();
      await signIn(page, service.base);
      await page.goto(`${service.base}/issuers`);
      await expect.poll(() => heading('Trusted issuers').isVisible()).toBe(true);
      await page.getByRole('button', { name: 'Add an issuer' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Issuer id (your name for it)').fill('keycloak');
      await dialog.getByLabel('Preset').selectOption('keycloak');
      await dialog.getByLabel('Issuer URL (the tokens\' iss)').fill(idp.issuer('realms/acme'));
      await dialog.getByLabel('JWKS URL').fill(idp.jwksUri('realms/acme'));
      // The preset needs audiences: the API names the field, and the dialog shows it there.
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      await expect.poll(() => textOf(dialog)).toContain('is required with the keycloak preset');
      await dialog.getByLabel('Audiences').fill('orders');
      await expectAccessible(page);
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      const row = page.getByRole('row').filter({ hasText: 'keycloak' });
      await expect.poll(() => row.count()).toBe(1);
      expect(await textOf(row)).toContain('Keycloak');

      const iat = epoch();
      const jwt = await idp.sign({ iss: idp.issuer('realms/acme'), aud: 'orders', azp: 'kc-portal', sub: 'kc-ada', preferred_username: 'ada', scope: 'openid orders', typ: 'Bearer', jti: 'kc-browser-1', iat, exp: iat + 600 });
      expect(await service.introspect(jwt)).toBe(true);
      await page.reload();
      await expect.poll(() => textOf(row)).toMatch(/Keycloak.*orders.*\b1\b/s);
      await expectAccessible(page);
      await screenshot(page, 'issuers');

      await page.goto(`${service.base}/apps/kc-portal/users/kc-ada/tokens`);
      await expect.poll(() => textOf(page.getByRole('row').filter({ hasText: 'Learned from' }))).toContain('Learned from keycloak');

      await page.goto(`${service.base}/issuers`);
      await page.getByRole('button', { name: 'Remove keycloak' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
      await expect.poll(() => page.getByRole('row').filter({ hasText: 'keycloak' }).count()).toBe(0);
      expect(await service.introspect(jwt)).toBe(false);
    } finally {
      await idp.close();
    }
  });

  it('shows a user\'s tokens by grant (current and rotated-out refresh tokens, their access tokens) and revokes a whole grant', { timeout: 60_000 }, async () => {
    // A code exchange and one rotating refresh, each in one call, as an authorization server sends them.
    expect((await service.api('POST', '/v1/apps', { appId: 'portal', name: 'Portal' })).status).toBe(201);
    const member = (token: string, type: string, extra: Record<string, string> = {}) => ({ token, type, appId: 'portal', userId: 'p1@acme.example', scopes: ['api'], ...extra });
    const first = 'portal-refresh-1-raw-token-value-0123456789';
    const second = 'portal-refresh-2-raw-token-value-0123456789';
    expect((await service.api('POST', '/v1/tokens', { tokens: [member(first, 'refresh'), member('portal-access-1-raw-token-value-0123456789', 'access', { refreshToken: first })] })).status).toBe(201);
    expect((await service.api('POST', '/v1/tokens', { tokens: [member(second, 'refresh', { previousRefreshToken: first }), member('portal-access-2-raw-token-value-0123456789', 'access', { refreshToken: second })] })).status).toBe(201);
    expect((await service.api('POST', '/v1/tokens', member('portal-alone-raw-token-value-0123456789', 'access'))).status).toBe(201);

    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/portal/users/${encodeURIComponent('p1@acme.example')}/tokens`);
    await expect.poll(() => heading('Tokens of p1@acme.example').isVisible()).toBe(true);
    const grant = page.getByRole('rowgroup').filter({ hasText: /^Grant / });
    await expect.poll(() => grant.count()).toBe(1);
    expect((await grant.getByRole('row').allInnerTexts()).map((r) => r.split(/\s/)[0])).toEqual(['Grant', 'Refresh', 'Refresh', 'Access', 'Access']);
    expect(await textOf(grant)).toContain('Refresh (current)');
    expect(await textOf(grant)).toContain('Rotated out');
    await expect.poll(() => textOf(page.getByRole('rowgroup').filter({ hasText: 'Issued without a refresh token' }))).toContain('1 token');
    await expectAccessible(page);
    await screenshot(page, 'grants');

    await page.getByRole('button', { name: /^Revoke grant / }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => textOf(dialog)).toContain('(4 listed here)');
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await expect.poll(() => textOf(status())).toContain('The grant was revoked');
    await expect.poll(() => page.getByRole('button', { name: /^Revoke grant / }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Revoke access token/ }).count()).toBe(1);
    for (const raw of [first, second, 'portal-access-2-raw-token-value-0123456789']) expect(await service.introspect(raw)).toBe(false);
  });

  it('shows an app\'s client tokens with Revoke, keeps its approved users on the Policies tab, and declares a resource server with a secret shown once', { timeout: 60_000 }, async () => {
    expect((await service.api('POST', '/v1/apps', { appId: 'reporting', name: 'Reporting', policies: { permittedUsers: 'admin-approved-pre-authorized' } })).status).toBe(201);
    for (const n of [1, 2]) expect((await service.api('POST', '/v1/tokens', { token: `reporting-client-${n}-raw-token-0123456789`, type: 'access', appId: 'reporting', scopes: ['reports:read'] })).status).toBe(201);
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/reporting`);
    await expect.poll(() => page.getByRole('heading', { name: 'Client tokens' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: /^Revoke client token/ }).count()).toBe(2);
    await expectAccessible(page);
    await page.getByRole('button', { name: /^Revoke client token/ }).first().click();
    const sent = page.waitForRequest((r) => r.method() === 'DELETE' && r.url().includes('/client-tokens/'));
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
    expect((await sent).headers()['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByRole('button', { name: /^Revoke client token/ }).count()).toBe(1);
    expect((await service.api('GET', '/v1/apps/reporting')).body).toMatchObject({ userCount: 0, activeTokenCount: 1 });

    await page.getByRole('tab', { name: 'Policies' }).click();
    await expect.poll(() => page.getByText('Only these users may be issued tokens for this app.').isVisible()).toBe(true);
    await page.getByLabel('User id').fill('auth0|ada');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Remove auth0|ada' }).isVisible()).toBe(true);
    await expectAccessible(page);
    expect((await service.api('POST', '/v1/tokens', { token: 'reporting-ada-raw-token-0123456789', type: 'access', appId: 'reporting', userId: 'auth0|ada' })).status).toBe(201);
    await page.getByRole('button', { name: 'Remove auth0|ada' }).click();
    await expect.poll(() => page.getByText('No user is approved.').isVisible()).toBe(true);

    await page.getByRole('link', { name: 'Resource servers' }).click();
    await expect.poll(() => heading('Resource servers').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Declare a resource server' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Client id (the sub of its token)').fill('orders-api');
    await dialog.getByLabel('Name').fill('Orders API');
    await dialog.getByLabel('Audience').fill('https://orders.example');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('row', { name: /Orders API/ }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'New secret for orders-api' }).click();
    const secret = await (async () => {
      await expect.poll(() => page.getByLabel('Client secret', { exact: true }).isVisible()).toBe(true);
      return page.getByLabel('Client secret', { exact: true }).inputValue();
    })();
    expect(secret).toMatch(/^ous_/);
    await expectAccessible(page);
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => textOf(page.getByRole('row', { name: /Orders API/ }))).toContain('Made');
    // The secret works at /oauth2/introspect with HTTP Basic.
    expect((await service.api('POST', '/v1/tokens', { token: 'reporting-client-3-raw-token-0123456789', type: 'access', appId: 'reporting' })).status).toBe(201);
    const basic = await fetch(`${service.base}/oauth2/introspect`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`orders-api:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=reporting-client-3-raw-token-0123456789',
    });
    expect(((await basic.json()) as { active: boolean }).active).toBe(true);
    await screenshot(page, 'resource-servers');
    // A leaked secret: ended at once; Basic is refused from then on.
    await page.getByRole('button', { name: 'End the secrets of orders-api' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End secrets' }).click();
    await expect.poll(() => textOf(page.getByRole('row', { name: /Orders API/ }))).toContain('None');
    const refused = await fetch(`${service.base}/oauth2/introspect`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`orders-api:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=reporting-client-3-raw-token-0123456789',
    });
    expect(refused.status).toBe(401);
  });

  it('revokes all tokens of an app once the admin types its id', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/analytics`);
    await page.getByRole('button', { name: 'Revoke all tokens' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => textOf(dialog)).toContain('This revokes 5 active tokens of 3 users');
    const confirm = dialog.getByRole('button', { name: 'Revoke all tokens' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type analytics to confirm').fill('analytic');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type analytics to confirm').fill('analytics');
    await expectAccessible(page);
    await confirm.click();
    await expect.poll(() => textOf(status())).toMatch(/succeeded/);
    await expect.poll(() => textOf(page.locator('.summary dd').first())).toBe('0');
    // Esc closes a dialog and gives focus back to the button that opened it.
    await page.getByRole('button', { name: 'Revoke all tokens' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Revoke all tokens');
  });

  it('blocks an app after a confirmation naming what happens, refusing its registrations, and unblocks it', { timeout: 60_000 }, async () => {
    expect((await service.api('POST', '/v1/apps', { appId: 'wiki', name: 'Team Wiki' })).status).toBe(201);
    const register = (userId: string, n: number) => service.api('POST', '/v1/tokens', { token: `wiki-${userId}-${n}-raw-token-value-0123456789`, type: 'access', appId: 'wiki', userId });
    for (const [userId, n] of [['w1', 1], ['w1', 2], ['w2', 1]] as const) expect((await register(userId, n)).status).toBe(201);
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/wiki`);
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Block Team Wiki' });
    await expect.poll(() => textOf(dialog)).toContain('This revokes all 3 active tokens of its 2 users at once, and refuses new tokens for the app until you unblock it.');
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Block', exact: true }).click();
    await expect.poll(() => textOf(status())).toMatch(/succeeded/);
    await expect.poll(() => heading(/Team Wiki\s+Blocked/).isVisible()).toBe(true);
    expect(await service.introspect('wiki-w1-1-raw-token-value-0123456789')).toBe(false);
    expect((await register('w3', 1)).status).toBe(409);
    await expectAccessible(page);

    await page.getByRole('button', { name: 'Unblock' }).click();
    await expect.poll(() => textOf(page.getByRole('dialog', { name: 'Unblock Team Wiki' }))).toContain('Tokens the block revoked stay revoked.');
    await page.getByRole('dialog').getByRole('button', { name: 'Unblock' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Block', exact: true }).isVisible()).toBe(true);
    expect(await heading('Team Wiki').isVisible()).toBe(true);
    expect((await register('w3', 1)).status).toBe(201);
  });

  it('finds anyone on the Users page, blocks one, revokes one everywhere after the dry run\'s numbers, and erases one\'s name', { timeout: 60_000 }, async () => {
    for (const [appId, name] of [['docs', 'Docs'], ['chat', 'Chat']]) expect((await service.api('POST', '/v1/apps', { appId, name })).status).toBe(201);
    const register = (appId: string, userId: string, userName: string, n: number) => service.api('POST', '/v1/tokens', { token: `${appId}-${userId}-${n}-raw-token-value-0123456789`, type: 'access', appId, userId, userName });
    for (const [appId, n] of [['docs', 1], ['docs', 2], ['chat', 1]] as const) expect((await register(appId, 'grace@people.example', 'Grace Hopper', n)).status).toBe(201);
    expect((await register('chat', 'linus@people.example', 'Linus Torvalds', 1)).status).toBe(201);
    await fresh();
    await signIn(page, service.base);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await expect.poll(() => heading('Users').isVisible()).toBe(true);
    await page.getByRole('searchbox', { name: 'Search users' }).fill('grace h');
    const grace = page.getByRole('row', { name: /Grace Hopper/ });
    await expect.poll(() => page.getByRole('row').count()).toBe(2); // the header and Grace
    expect(await grace.getByRole('cell').allInnerTexts()).toEqual(expect.arrayContaining(['2', '3', 'Allowed']));
    await expectAccessible(page);
    await screenshot(page, 'users');

    // Block: new tokens refused in every app; what she holds stays active.
    await page.getByRole('button', { name: 'Block grace@people.example' }).click();
    await expect.poll(() => textOf(page.getByRole('dialog'))).toContain('refused new tokens in every app until you unblock them');
    await expectAccessible(page);
    await page.getByRole('dialog').getByRole('button', { name: 'Block', exact: true }).click();
    await expect.poll(() => textOf(grace)).toContain('Blocked');
    expect((await register('chat', 'grace@people.example', 'Grace Hopper', 2)).status).toBe(409);
    expect(await service.introspect('docs-grace@people.example-1-raw-token-value-0123456789')).toBe(true);

    // Revoke everywhere: the dry run's numbers first, then every app at once.
    await page.getByRole('button', { name: 'Revoke everywhere grace@people.example' }).click();
    const offboard = page.getByRole('dialog');
    await expect.poll(() => textOf(offboard)).toContain('This revokes 3 active tokens of grace@people.example in 2 apps, at once.');
    await offboard.getByLabel('Reason (optional)').fill('Left the company');
    await expectAccessible(page);
    await screenshot(page, 'revoke-everywhere');
    await offboard.getByRole('button', { name: 'Revoke everywhere' }).click();
    await expect.poll(() => textOf(status())).toMatch(/Revocation succeeded: 2 apps done, 3 tokens revoked/);
    expect(await service.introspect('docs-grace@people.example-1-raw-token-value-0123456789')).toBe(false);
    await expect.poll(() => page.getByRole('row', { name: /Grace Hopper/ }).count()).toBe(0);
    // Blocked, she holds nothing any more: the blocked users list her (by id: no app holds her name for the list).
    await page.getByRole('searchbox', { name: 'Search users' }).fill('grace@');
    await page.getByLabel('Blocked users only').check();
    await expect.poll(() => textOf(page.getByRole('row', { name: /grace@people\.example/ }))).toContain('Blocked');

    // Erase personal data: the name is gone, the user and their token stay.
    await page.getByLabel('Blocked users only').uncheck();
    await page.getByRole('searchbox', { name: 'Search users' }).fill('linus');
    await page.getByRole('button', { name: 'Erase personal data of linus@people.example' }).click();
    await expect.poll(() => textOf(page.getByRole('dialog'))).toContain('the name “Linus Torvalds” of linus@people.example everywhere');
    await expectAccessible(page);
    await page.getByRole('dialog').getByRole('button', { name: 'Erase personal data' }).click();
    await expect.poll(() => textOf(status())).toMatch(/Erasure succeeded/);
    await expect.poll(() => textOf(page.getByRole('row', { name: /linus@people\.example/ }))).not.toContain('Linus Torvalds');
    expect(await service.introspect('chat-linus@people.example-1-raw-token-value-0123456789')).toBe(true);
    expect((await service.api('GET', '/v1/users?q=linus%20t')).body.items).toEqual([]);
  });

  it('searches Usage by User by a prefix of the user or of the name', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/mail/users`);
    await expect.poll(() => page.getByRole('row', { name: /m2@acme\.example/ }).isVisible()).toBe(true);
    await page.getByRole('searchbox', { name: 'Search users' }).fill('user 1 of');
    await expect.poll(() => page.getByRole('row').count()).toBe(2);
    expect(await textOf(page.getByRole('row').nth(1))).toContain('m1@acme.example');
    // A search is by user: the order by most recent use does not apply.
    expect(await page.getByLabel('Sort by').isDisabled()).toBe(true);
    await page.getByRole('searchbox', { name: 'Search users' }).fill('M2@');
    await expect.poll(() => textOf(page.getByRole('row').nth(1))).toContain('m2@acme.example');
    await page.getByRole('searchbox', { name: 'Search users' }).fill('nobody');
    await expect.poll(() => page.getByText('No user of this app holding tokens has an id or a name starting with “nobody”.').isVisible()).toBe(true);
    await expectAccessible(page);
  });

  it('gives a read-only admin no edit or revoke controls, and says why', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base, { scopes: 'usage:read', user: 'auditor@acme.example' });
    await expect.poll(() => page.getByText(/Read-only/).isVisible()).toBe(true);
    await page.goto(`${service.base}/apps/crm-sync/users`);
    await expect.poll(() => page.getByRole('row', { name: /c2@acme\.example/ }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
    expect(await page.getByRole('checkbox').count()).toBe(0);
    await page.goto(`${service.base}/apps/crm-sync`);
    await expect.poll(() => heading('CRM Sync').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /Edit|Revoke/ }).count()).toBe(0);
    await expectAccessible(page);
  });

  it('says so when someone else changed the app meanwhile (412), and offers to reload', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/mail`);
    await page.getByRole('button', { name: 'Edit' }).click();
    expect((await service.api('PATCH', '/v1/apps/mail', { description: 'Changed by a colleague' })).status).toBe(200);
    await page.getByLabel('Description').fill('My change');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('changed by someone else');
    await page.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => page.getByText('Changed by a colleague').isVisible()).toBe(true);
  });

  it('lists revocation jobs with Cancel for a scheduled one, and the audit log', { timeout: 60_000 }, async () => {
    const runAt = new Date(Date.now() + 86_400_000).toISOString();
    expect((await service.api('POST', '/v1/apps/crm-sync/revocations', { userIds: ['c2@acme.example'], runAt, reason: 'Leaves tomorrow' })).status).toBe(202);
    await fresh();
    await signIn(page, service.base);
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => heading('Revocation jobs').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: /^Cancel job/ }).count()).toBe(1);
    await expectAccessible(page);
    await screenshot(page, 'revocation-jobs');
    await page.getByRole('button', { name: /^Cancel job/ }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Cancel job/ }).count()).toBe(0);
    await expect.poll(() => textOf(page.getByRole('row', { name: /Leaves tomorrow/ }))).toContain('cancelled');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => heading('Audit log').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('cell', { name: 'revocation.cancelled' }).isVisible()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'audit-log');

    // Filters and Export: the file holds exactly the rows the filtered list shows.
    await page.getByLabel('Action').selectOption('revocation.cancelled');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => page.getByRole('row').count()).toBe(2); // the header and the one cancellation
    expect(new URL(page.url()).searchParams.get('action')).toBe('revocation.cancelled');
    await page.getByLabel('Export as').selectOption('ndjson');
    await page.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => textOf(page.getByRole('status'))).toContain('Export ready: 1 event.');
    await expectAccessible(page);
    // The URL holds the filters and the export: a reload finds both again.
    await page.reload();
    await expect.poll(() => textOf(page.getByRole('status'))).toContain('Export ready: 1 event.');
    await expect.poll(() => page.getByRole('row').count()).toBe(2);
    expect(await page.getByLabel('Action').inputValue()).toBe('revocation.cancelled');
    const href = await page.getByRole('link', { name: 'Download NDJSON' }).getAttribute('href');
    const file = await page.request.get(String(href));
    expect(file.status()).toBe(200);
    const lines = (await file.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as { action: string; reason: string | null });
    expect(lines.map((e) => e.action)).toEqual(['revocation.cancelled']);
    // A filter typed but not applied is applied by Export, so the file is what the list shows.
    await page.getByLabel('Action').selectOption('app.created');
    await page.getByLabel('Export as').selectOption('ndjson');
    await page.getByRole('button', { name: 'Filter and export' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('app.created');
    await expect.poll(() => textOf(page.getByRole('status'))).toMatch(/Export ready: \d+ events?\./);
    expect((await (await page.request.get(String(await page.getByRole('link', { name: 'Download NDJSON' }).getAttribute('href')))).text()).trimEnd().split('\n')
      .map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(Array.from({ length: Number(/(\d+) event/.exec(await textOf(page.getByRole('status')))?.[1]) }, () => 'app.created'));
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.getByRole('row').count()).toBeGreaterThan(2);
    expect(new URL(page.url()).search).toBe('');
    // Back returns to the filtered log.
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('app.created');
    await expect.poll(() => page.getByLabel('Action').inputValue()).toBe('app.created');
  });

  it('reads the audit log\'s From and Before in the browser\'s time zone and sends them as UTC instants', { timeout: 60_000 }, async () => {
    await fresh(undefined, { timezoneId: 'America/Los_Angeles' });
    await signIn(page, service.base);
    await page.goto(`${service.base}/audit`);
    await expect.poll(() => page.getByText('America/Los_Angeles').isVisible()).toBe(true);
    await page.getByLabel('From').fill('2026-12-01T00:00');
    await page.getByLabel('Before').fill('2026-12-01T09:30');
    const listed = page.waitForRequest((r) => r.url().includes('/v1/audit-events') && r.url().includes('since='));
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    const query = new URL((await listed).url()).searchParams;
    expect([query.get('since'), query.get('until')]).toEqual(['2026-12-01T08:00:00.000Z', '2026-12-01T17:30:00.000Z']); // PST is UTC−8
    await page.reload();
    expect(await page.getByLabel('From').inputValue()).toBe('2026-12-01T00:00');
    await expectAccessible(page);
  });

  it('is readable on a phone (390×844) and accessible there', { timeout: 60_000 }, async () => {
    await fresh({ width: 390, height: 844 });
    await signIn(page, service.base);
    await page.goto(`${service.base}/apps/crm-sync/users`);
    await expect.poll(() => heading('Usage by User').isVisible()).toBe(true);
    await expectAccessible(page);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'usage-by-user-phone');
    // The Users page too, its row actions in the table's own scroll box.
    await page.goto(`${service.base}/users`);
    await expect.poll(() => page.getByRole('row', { name: /c2@acme\.example/ }).isVisible()).toBe(true);
    await expectAccessible(page);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // The audit log's filters and Export fit too.
    await page.goto(`${service.base}/audit`);
    await expect.poll(() => page.getByRole('button', { name: 'Export' }).isVisible()).toBe(true);
    await expectAccessible(page);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'audit-log-phone');
  });

  it('follows the system\'s dark mode, and stays accessible in it', { timeout: 60_000 }, async () => {
    context = await browser.newContext({ colorScheme: 'dark' });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    await signIn(page, service.base);
    await expect.poll(() => heading('OAuth Usage').isVisible()).toBe(true);
    expect(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')).toBe('rgb(21, 23, 26)');
    await expectAccessible(page);
    await screenshot(page, 'oauth-usage-dark');
  });

  it('tells an org on another edition which editions the product serves', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base, { edition: 'Essentials' });
    await expect.poll(() => heading('Not available in your edition').isVisible()).toBe(true);
    expect(await page.getByText('Professional, Performance, Unlimited and Developer').isVisible()).toBe(true);
    await expectAccessible(page);
  });

  it('shows a retry, never a blank page, when the service fails or cannot be reached', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.route('**/v1/revocation-jobs*', (route) => route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"type":"urn:x:internal-error","title":"Unavailable","status":503,"detail":"Try again later"}' }), { times: 1 });
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('Something went wrong');
    // Nothing answers: neither the call nor the console's check that the API's host answers at all.
    await page.route('**/v1/audit-events*', (route) => route.abort('connectionrefused'), { times: 1 });
    await page.route('**/health', (route) => route.abort('connectionrefused'), { times: 1 });
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('could not be reached');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.getByRole('table').isVisible()).toBe(true);
  });

  it('goes Back to the page before after a reload (signing in again silently adds no history entry)', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.getByRole('link', { name: 'CRM Sync', exact: true }).click();
    await expect.poll(() => heading('CRM Sync').isVisible()).toBe(true);
    await page.reload(); // the session lived in memory: signed in again, silently
    await expect.poll(() => heading('CRM Sync').isVisible()).toBe(true);
    await page.goBack();
    await expect.poll(() => heading('OAuth Usage').isVisible()).toBe(true);
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('works from another origin than the API, as deployed: preflights answered, ETag exposed, revocations sent', { timeout: 60_000 }, async () => {
    expect((await service.api('POST', '/v1/apps', { appId: 'partner', name: 'Partner Portal' })).status).toBe(201);
    for (const userId of ['p1@acme.example', 'p2@acme.example']) {
      expect((await service.api('POST', '/v1/tokens', { token: `partner-${userId}-raw-token-value-0123456789`, type: 'access', appId: 'partner', userId })).status).toBe(201);
    }
    await serveConsoleAt(otherOrigin);
    await fresh();
    await signIn(page, otherOrigin);
    await expect.poll(() => heading('OAuth Usage').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('link', { name: 'Partner Portal', exact: true }).isVisible()).toBe(true);
    // A change sends If-Match with the ETag the console read from a cross-origin answer.
    await page.goto(`${otherOrigin}/apps/partner`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Description').fill('Edited from another origin');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByText('Edited from another origin').isVisible()).toBe(true);
    expect((await service.api('GET', '/v1/apps/partner')).body.description).toBe('Edited from another origin');
    // A revocation: DELETE with an Idempotency-Key, which only an answered preflight lets through.
    await page.goto(`${otherOrigin}/apps/partner/users`);
    await page.getByRole('button', { name: 'Revoke p1@acme.example' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
    await expect.poll(() => textOf(status())).toMatch(/succeeded: 1 users done, 1 tokens revoked/);
    expect(((await service.api('GET', '/v1/apps/partner/users')).body.items as { userId: string }[]).map((u) => u.userId)).toEqual(['p2@acme.example']);
  });

  it('tells the gateway\'s own refusal (no CORS headers) from a network failure, from another origin: offers Retry and Sign in again, and signs in by itself when the token is at its end', { timeout: 60_000 }, async () => {
    await serveConsoleAt(otherOrigin);
    await fresh();
    await page.clock.install();
    const authorizations: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && new URL(request.url()).pathname === '/authorize') authorizations.push(request.url());
    });
    await signIn(page, otherOrigin);
    await expect.poll(() => heading('OAuth Usage').isVisible()).toBe(true);
    // A token the gateway does not take: its 401 carries no CORS headers, so the fetch fails in the page.
    const refusedByGateway = () => page.route(`${service.base}/v1/revocation-jobs*`, (route) => route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer not-a-token-the-gateway-takes' } }), { times: 1 });
    await refusedByGateway();
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('The API gateway refused this call');
    expect(await textOf(page.getByRole('alert'))).not.toContain('could not be reached');
    expect(await page.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);
    await expectAccessible(page);
    expect(authorizations).toHaveLength(1); // no sign-in loop: the token has most of its hour left
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(`${otherOrigin}/jobs`);
    await expect.poll(() => heading('Revocation jobs').isVisible()).toBe(true);
    expect(authorizations).toHaveLength(2);
    // Thirty seconds left by the console's clock: that refusal is the 401 of a token at its end, so it signs in again by itself.
    await page.clock.fastForward('59:30');
    await refusedByGateway();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => authorizations.length).toBe(3);
    await page.waitForURL(`${otherOrigin}/jobs`);
    await expect.poll(() => page.getByRole('table').isVisible()).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('is refused from an origin CONSOLE_ORIGINS does not name: no sign-in, and the browser keeps the API\'s answers from it', { timeout: 60_000 }, async () => {
    const stranger = `http://localhost:${await freePort()}`;
    await serveConsoleAt(stranger);
    await fresh();
    // The issuer sends no browser back to a callback it does not know.
    const authorize = new URL('/authorize', service.base);
    authorize.search = new URLSearchParams({ client_id: 'oauth-usage-console', redirect_uri: `${stranger}/callback`, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
    await page.goto(authorize.toString());
    await expect.poll(() => page.getByText('Unknown client or redirect URI.').isVisible()).toBe(true);
    // And the browser keeps every answer of the API from that origin's pages.
    await page.goto(`${stranger}/config.json`);
    const blocked = await page.evaluate(async (api) => fetch(`${api}/health`).then(() => 'read', (error: Error) => error.name), service.base);
    expect(blocked).toBe('TypeError');
  });

  it('signs out of the console and of the issuer', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await page.goto(`${service.base}/jobs`);
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true); // no silent sign-in any more
  });

  it('signs in again once when the API refuses a fresh sign-in too, then says so instead of looping', { timeout: 60_000 }, async () => {
    await fresh();
    const authorizations: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && new URL(request.url()).pathname === '/authorize') authorizations.push(request.url());
    });
    await signIn(page, service.base);
    const signedIn = authorizations.length;
    // Every token refused (as an API trusting another audience would): one silent sign-in, then a message.
    await page.route('**/v1/revocation-jobs*', (route) => route.fulfill({ status: 401, body: '{"message":"Unauthorized"}', headers: { 'content-type': 'application/json' } }));
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => textOf(page.getByRole('alert'))).toContain('does not accept the sign-in');
    expect(authorizations.length).toBe(signedIn + 1);
    await expectAccessible(page);
  });

  it('brings an admin whose sign-in expired back to sign in, then to the page they were on', { timeout: 60_000 }, async () => {
    await fresh();
    await signIn(page, service.base);
    await page.goto(`${service.base}/audit`);
    await expect.poll(() => heading('Audit log').isVisible()).toBe(true);
    // The issuer's session ends (as it does when it expires): the next 401 must go through sign-in again.
    await context.clearCookies();
    await page.route('**/v1/revocation-jobs*', (route) => route.fulfill({ status: 401, body: '{"message":"Unauthorized"}', headers: { 'content-type': 'application/json' } }), { times: 1 });
    await page.getByRole('link', { name: 'Revocation jobs' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${service.base}/jobs`);
    await expect.poll(() => heading('Revocation jobs').isVisible()).toBe(true);
  });
});
