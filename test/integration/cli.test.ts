import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@oauth-usage/client';
import { startLocalService, type LocalService } from '../support/local-service.js';

/**
 * The `oauth-usage` CLI as a script runs it: `npx oauth-usage …` in its own process (no terminal),
 * against `npm start`'s stack (its worker runs the jobs). Output on stdout, errors on stderr, an exit code per kind.
 */
const org = 'org-cli';
let service: LocalService;
let base: string;
let adminToken: string;

beforeAll(async () => {
  service = await startLocalService();
  base = service.url;
  adminToken = await service.mint({ sub: 'admin@example.com', org_id: org, scope: 'usage:read apps:manage' });
  // Two apps, their users holding tokens, registered as an authorization server would.
  const as = createClient({ baseUrl: base, token: await service.mint({ sub: 'as', org_id: org, scope: 'tokens:write' }) });
  const admin = createClient({ baseUrl: base, token: adminToken });
  for (const appId of ['crm-sync', 'mail-app']) {
    await admin.POST('/v1/apps', { body: { appId, name: appId === 'crm-sync' ? 'CRM Sync' : 'Mail' } });
    for (const userId of ['ada', 'bob', 'cy']) {
      await as.POST('/v1/tokens', { body: { token: `${appId}-${userId}-access-token-value`, type: 'access', appId, userId, userName: `User ${userId}` } });
    }
  }
});
afterAll(() => service?.stop());

interface Run { code: number | null; stdout: string; stderr: string }
/** Runs `npx oauth-usage …args` with the API and token in its environment. */
function cli(args: string[], { token = adminToken }: { token?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'oauth-usage', ...args], {
      env: { ...process.env, OAUTH_USAGE_URL: base, OAUTH_USAGE_TOKEN: token, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const activeUsersOf = async (appId: string) => ((await createClient({ baseUrl: base, token: adminToken }).GET('/v1/apps/{appId}/users', { params: { path: { appId } } })).items).map((u) => u.userId);

// Each test starts the CLI a few times (about 2 s each, more on a loaded machine).
describe('the oauth-usage CLI', { timeout: 90_000 }, () => {
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

    const revoked = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'ada', '--reason', 'left the team']);
    expect(revoked.code).toBe(0);
    const jobId = /^(job_\S+) (queued|running|succeeded): the tokens are inactive now/.exec(revoked.stdout)?.[1];
    expect(jobId).toBeDefined();
    expect(await activeUsersOf('crm-sync')).toEqual(['bob', 'cy']);
    const admin = createClient({ baseUrl: base, token: adminToken });
    expect(await admin.GET('/v1/revocation-jobs/{jobId}', { params: { path: { jobId: jobId as string } } })).toMatchObject({ target: { userIds: ['ada'] }, reason: 'left the team' });

    // No terminal: the job's progress as plain lines, one per change, until it succeeds.
    const bulk = await cli(['revoke', 'users', '--app', 'crm-sync', '--user', 'bob', '--user', 'cy', '--wait', '--interval', '0.2']);
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

    const watched = await cli(['jobs', 'watch', job.jobId, '--json', '--interval', '0.2']);
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
    expect(badId.stderr).toMatch(/body\.userIds\.0: /);

    const unauthorized = await cli(['apps', 'list'], { token: 'not-a-jwt' });
    expect(unauthorized.code).toBe(4);
    expect(unauthorized.stderr).toMatch(/^oauth-usage: 401 /);

    const readOnly = await service.mint({ sub: 'viewer', org_id: org, scope: 'usage:read' });
    const forbidden = await cli(['revoke', 'user', '--app', 'crm-sync', '--user', 'ada'], { token: readOnly });
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toMatch(/403 insufficient-scope/);

    const usage = await cli(['revoke', 'user', '--user', 'ada']);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toMatch(/needs --app/);
    expect((await cli(['apps', 'list', '--no-such-flag'])).code).toBe(2);
  });
});
