import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@oauth-usage/client';
import { localIssuer, type LocalIssuer } from '../../local/jwt.js';
import { drainQueue } from '../support/queue.js';

/**
 * The `oauth-usage` CLI as a script runs it: `npx oauth-usage …` in its own process (no terminal),
 * against the local HTTP API. Output on stdout, errors on stderr, an exit code per kind.
 */
const org = 'org-cli';
let server: Server;
let base: string;
let issuer: LocalIssuer;
let adminToken: string;

beforeAll(async () => {
  issuer = await localIssuer(mkdtempSync(join(tmpdir(), 'ou-cli-')), 'urn:cli-issuer', 'oauth-usage');
  const { createLocalApi } = await import('../../local/http-server.js');
  server = await createLocalApi(issuer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  adminToken = await issuer.mint({ sub: 'admin@example.com', org_id: org, org_edition: 'Developer', scope: 'usage:read apps:manage' });
  // Two apps, their users holding tokens, registered as an authorization server would.
  const as = createClient({ baseUrl: base, token: await issuer.mint({ sub: 'as', org_id: org, org_edition: 'Developer', scope: 'tokens:write' }) });
  const admin = createClient({ baseUrl: base, token: adminToken });
  for (const appId of ['crm-sync', 'mail-app']) {
    await admin.POST('/v1/apps', { body: { appId, name: appId === 'crm-sync' ? 'CRM Sync' : 'Mail' } });
    for (const userId of ['ada', 'bob', 'cy']) {
      await as.POST('/v1/tokens', { body: { token: `${appId}-${userId}-access-token-value`, type: 'access', appId, userId, userName: `User ${userId}` } });
    }
  }
});
afterAll(() => server?.close());

interface Run { code: number | null; stdout: string; stderr: string }
/** Runs `npx oauth-usage …args` with the API and token in its environment; `during` runs while it does (the queue worker's part). */
function cli(args: string[], { token = adminToken, during }: { token?: string; during?: () => Promise<unknown> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'oauth-usage', ...args], {
      env: { ...process.env, OAUTH_USAGE_URL: base, OAUTH_USAGE_TOKEN: token, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    let working = true;
    const helper = during ? (async () => { while (working) { await during(); await new Promise((r) => setTimeout(r, 100)); } })() : Promise.resolve();
    child.on('error', reject);
    child.on('close', (code) => {
      working = false;
      void helper.then(() => resolve({ code, stdout, stderr }), reject);
    });
  });
}
const activeUsersOf = async (appId: string) => ((await createClient({ baseUrl: base, token: adminToken }).GET('/v1/apps/{appId}/users', { params: { path: { appId } } })).items).map((u) => u.userId);

describe('the oauth-usage CLI', () => {
  it('lists apps and users as a table, and as JSON with --json', async () => {
    const apps = await cli(['apps', 'list']);
    expect(apps).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = apps.stdout.trim().split('\n');
    expect(header).toMatch(/^appId\s+name\s+userCount\s+activeTokenCount\s+lastUsedAt\s+blocked$/);
    expect(rows.map((r) => r.split(/\s{2,}/).slice(0, 4))).toEqual([['crm-sync', 'CRM Sync', '3', '3'], ['mail-app', 'Mail', '3', '3']]);

    const users = await cli(['users', 'list', '--app', 'crm-sync', '--json']);
    expect(users.code).toBe(0);
    expect((JSON.parse(users.stdout) as { userId: string; userName: string }[]).map((u) => [u.userId, u.userName])).toEqual([['ada', 'User ada'], ['bob', 'User bob'], ['cy', 'User cy']]);
  });

  it("revokes a user (a dry run first changes nothing), and Bulk Revoke with --wait follows the job to its end", async () => {
    const dryRun = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'ada', '--dry-run', '--json']);
    expect(dryRun.code).toBe(0);
    expect(JSON.parse(dryRun.stdout)).toEqual({ usersAffected: 1, tokensAffected: 1 });
    expect(await activeUsersOf('crm-sync')).toContain('ada');

    const revoked = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'ada']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^job_\S+ (queued|running|succeeded): the tokens are inactive now/);
    expect(await activeUsersOf('crm-sync')).toEqual(['bob', 'cy']);

    // No terminal: the job's progress as plain lines, one per change, until it succeeds.
    const bulk = await cli(['revoke', 'users', '--app', 'crm-sync', '--user', 'bob', '--user', 'cy', '--wait', '--interval', '0.2'], { during: () => drainQueue() });
    expect(bulk.code, bulk.stderr).toBe(0);
    const lines = bulk.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^job_\S+ {2}succeeded {2}2\/2 users {2}2 tokens revoked$/);
    expect(new Set(lines).size).toBe(lines.length);
    expect(await activeUsersOf('crm-sync')).toEqual([]);
    expect(await activeUsersOf('mail-app')).toEqual(['ada', 'bob', 'cy']);
  });

  it("'revoke app' without --yes and without a terminal refuses before anything changes; with --yes it revokes, and 'jobs watch' follows it", async () => {
    const refused = await cli(['revoke', 'app', 'mail-app']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/revokes 3 tokens of 3 users: pass --yes \(there is no terminal to ask\)/);
    expect(await activeUsersOf('mail-app')).toEqual(['ada', 'bob', 'cy']);

    const started = await cli(['revoke', 'app', 'mail-app', '--yes', '--reason', 'retired', '--json']);
    expect(started.code).toBe(0);
    const job = JSON.parse(started.stdout) as { jobId: string; target: unknown; reason: string };
    expect(job).toMatchObject({ target: { all: true }, reason: 'retired' });
    expect(await activeUsersOf('mail-app')).toEqual([]);

    const watched = await cli(['jobs', 'watch', job.jobId, '--json', '--interval', '0.2'], { during: () => drainQueue() });
    expect(watched.code).toBe(0);
    const states = watched.stdout.trim().split('\n').map((line) => JSON.parse(line) as { jobId: string; status: string });
    expect(states.at(-1)).toMatchObject({ jobId: job.jobId, status: 'succeeded' });
  });

  it('says what went wrong on stderr, with an exit code per kind', async () => {
    const notFound = await cli(['users', 'list', '--app', 'no-such-app']);
    expect(notFound).toMatchObject({ code: 3, stdout: '' });
    expect(notFound.stderr).toMatch(/^oauth-usage: 404 not-found: /);

    const badId = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'a b']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/path\.userId: /);

    const unauthorized = await cli(['apps', 'list'], { token: 'not-a-jwt' });
    expect(unauthorized.code).toBe(4);
    expect(unauthorized.stderr).toMatch(/^oauth-usage: 401 /);

    const readOnly = await issuer.mint({ sub: 'viewer', org_id: org, org_edition: 'Developer', scope: 'usage:read' });
    const forbidden = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'ada'], { token: readOnly });
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toMatch(/403 insufficient-scope/);

    const usage = await cli(['revoke', 'user', '--user', 'ada']);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toMatch(/needs --app/);
    expect((await cli(['apps', 'list', '--no-such-flag'])).code).toBe(2);
  });
});
