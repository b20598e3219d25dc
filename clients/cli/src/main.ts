/**
 * `oauth-usage`: the OAuth Usage API from a terminal or a script, on the typed client.
 *
 *   oauth-usage apps list [--all] [--q PREFIX]
 *   oauth-usage users list --app APP [--q PREFIX] [--sort userId|-lastUsedAt]
 *   oauth-usage revoke user --app APP --user USER [--dry-run] [--wait]
 *   oauth-usage revoke users --app APP --user A --user B … [--dry-run] [--wait]
 *   oauth-usage revoke app APP [--yes] [--dry-run] [--wait]
 *   oauth-usage jobs watch JOB
 *
 * Output is a table on stdout (`--json`: JSON), errors are on stderr with an exit code per kind
 * (EXIT below); nothing prompts without a terminal.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import { createClient, isTransient, OAuthUsageError, type OAuthUsageClient, type Schemas } from '@oauth-usage/client';
import { jobLine, progressBar, table } from './format.js';

/** Exit codes, one per kind of failure (the README lists them). */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, unauthorized: 4, refused: 5, unavailable: 6, jobFailed: 7 } as const;

class UsageError extends Error {}

const HELP = `Usage: oauth-usage <command> [options]

Commands:
  apps list [--all] [--q PREFIX]                    the apps holding active tokens (--all: every app)
  users list --app APP [--q PREFIX] [--sort KEY]    the app's users (KEY: userId or -lastUsedAt)
  revoke user --app APP --user USER                 revoke one user's tokens for the app
  revoke users --app APP --user A --user B ...      Bulk Revoke (up to 1,000 users)
  revoke app APP --yes                              revoke every token of the app
  jobs watch JOB                                    follow a revocation job until it ends

Options:
  --json          machine output on stdout
  --dry-run       count what a revocation would take, change nothing
  --wait          after a revocation, follow its job until it ends
  --yes           confirm 'revoke app' (asked on a terminal, required otherwise)
  --reason TEXT   the reason recorded with a revocation
  --interval SEC  how often 'jobs watch' and --wait ask (default 1)
  --url URL       the API (default: $OAUTH_USAGE_URL, else http://127.0.0.1:3000)
  --token TOKEN   the bearer token (default: $OAUTH_USAGE_TOKEN, else the output of $OAUTH_USAGE_TOKEN_COMMAND)

Exit codes: 0 ok, 1 error, 2 usage (or input the API refused), 3 not found, 4 unauthorized or forbidden,
5 refused (conflict, precondition), 6 unavailable (rate limited, 5xx, network), 7 the job failed or was cancelled.
`;

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    return fail(error, io);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, wait: { type: 'boolean' }, yes: { type: 'boolean' }, all: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }, app: { type: 'string' }, user: { type: 'string', multiple: true }, q: { type: 'string' },
      sort: { type: 'string' }, reason: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, interval: { type: 'string' },
    },
  });
  const [group, action, target, ...rest] = positionals;
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (!group) {
    io.stderr.write(HELP);
    return EXIT.usage;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const api = clientOf(values, io.env);
  const out = output(io, values.json === true);
  const intervalMs = values.interval ? Number(values.interval) * 1000 : 1000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new UsageError('--interval must be a number of seconds');
  const required = (value: string | undefined, flag: string) => {
    if (!value) throw new UsageError(`${group} ${action} needs ${flag}`);
    return value;
  };
  const reason = values.reason ? { reason: values.reason } : {};

  switch (`${group} ${action ?? ''}`) {
    case 'apps list': {
      const items: Schemas['AppSummary'][] = [];
      for await (const app of api.items('/v1/apps', { params: { query: { limit: 100, ...(values.all ? { all: 'true' } : {}), ...(values.q ? { q: values.q } : {}) } } })) items.push(app);
      out.list(items, ['appId', 'name', 'userCount', 'activeTokenCount', 'lastUsedAt', 'blocked']);
      return EXIT.ok;
    }
    case 'users list': {
      const appId = required(values.app, '--app');
      const sort = values.sort as 'userId' | '-lastUsedAt' | undefined;
      if (sort !== undefined && sort !== 'userId' && sort !== '-lastUsedAt') throw new UsageError("--sort is 'userId' or '-lastUsedAt'");
      const items: Schemas['Usage'][] = [];
      for await (const user of api.items('/v1/apps/{appId}/users', { params: { path: { appId }, query: { limit: 100, ...(sort ? { sort } : {}), ...(values.q ? { q: values.q } : {}) } } })) items.push(user);
      out.list(items, ['userId', 'userName', 'activeTokenCount', 'useCount', 'firstUsedAt', 'lastUsedAt']);
      return EXIT.ok;
    }
    case 'revoke user':
    case 'revoke users': {
      const appId = required(values.app, '--app');
      const userIds = values.user ?? [];
      if (userIds.length === 0) throw new UsageError(`${group} ${action} needs --user`);
      if (action === 'user' && userIds.length > 1) throw new UsageError("'revoke user' takes one --user; 'revoke users' takes several");
      if (values['dry-run']) {
        const dryRun = await api.POST('/v1/apps/{appId}/revocations', { params: { path: { appId } }, body: { userIds, dryRun: true } });
        out.object(dryRun, `would revoke ${summaryOf(dryRun)}`);
        return EXIT.ok;
      }
      // One user or several: a Bulk Revoke (the per-user DELETE takes no reason).
      const job = await api.POST('/v1/apps/{appId}/revocations', { params: { path: { appId } }, body: { userIds, ...reason } });
      return started(job, api, out, values.wait === true, intervalMs, io);
    }
    case 'revoke app': {
      const appId = required(target, 'the app id (revoke app APP)');
      const dryRun = await api.POST('/v1/apps/{appId}/revocations', { params: { path: { appId } }, body: { all: true, dryRun: true } });
      const summary = summaryOf(dryRun);
      if (values['dry-run']) {
        out.object(dryRun, `would revoke ${summary}`);
        return EXIT.ok;
      }
      if (!values.yes) {
        if (!io.stdin.isTTY || !io.stdout.isTTY) throw new UsageError(`'revoke app ${appId}' revokes ${summary}: pass --yes (there is no terminal to ask)`);
        const prompt = createInterface({ input: io.stdin, output: io.stdout });
        const answer = await prompt.question(`Revoke every token of ${appId} (${summary})? [y/N] `);
        prompt.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          io.stderr.write('oauth-usage: nothing revoked\n');
          return EXIT.refused;
        }
      }
      const job = await api.POST('/v1/apps/{appId}/revocations', { params: { path: { appId } }, body: { all: true, ...reason } });
      return started(job, api, out, values.wait === true, intervalMs, io);
    }
    case 'jobs watch':
      return watch(required(target, 'the job id (jobs watch JOB)'), api, out, intervalMs, io);
    default:
      throw new UsageError(`unknown command '${[group, action].filter(Boolean).join(' ')}' (oauth-usage --help)`);
  }
}

type Job = Schemas['RevocationJob'];
/** What a dry run counted, in words. */
const summaryOf = (answer: Job | Schemas['DryRun']) => ('tokensAffected' in answer ? `${answer.tokensAffected} tokens of ${answer.usersAffected} users` : 'an unknown number of tokens');
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function started(answer: Job | Schemas['DryRun'], api: OAuthUsageClient, out: Output, wait: boolean, intervalMs: number, io: Io): Promise<number> {
  if (!('jobId' in answer)) throw new Error('the service answered a dry run');
  if (!wait) {
    out.object(answer, `${answer.jobId} ${answer.status}: the tokens are inactive now; 'oauth-usage jobs watch ${answer.jobId}' follows the cleanup`);
    return EXIT.ok;
  }
  return watch(answer.jobId, api, out, intervalMs, io);
}

/** Polls the job until it ends: a progress bar on a terminal, a line per change otherwise (NDJSON with --json). */
async function watch(jobId: string, api: OAuthUsageClient, out: Output, intervalMs: number, io: Io): Promise<number> {
  const bar = io.stdout.isTTY === true && !out.json;
  let last = '';
  for (;;) {
    const job = await api.GET('/v1/revocation-jobs/{jobId}', { params: { path: { jobId } } });
    const line = out.json ? JSON.stringify(job) : jobLine(job);
    if (line !== last) {
      if (bar) io.stdout.write(`\r\x1b[2K${progressBar(job, io.stdout.columns ?? 80)}`);
      else io.stdout.write(`${line}\n`);
      last = line;
    }
    if (FINAL.has(job.status)) {
      if (bar) io.stdout.write(`\n${jobLine(job)}\n`);
      return job.status === 'succeeded' ? EXIT.ok : EXIT.jobFailed;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface Output {
  json: boolean;
  list<T extends object>(items: T[], columns: (keyof T & string)[]): void;
  object(value: object, text: string): void;
}

function output(io: Io, json: boolean): Output {
  return {
    json,
    list: (items, columns) => io.stdout.write(json ? `${JSON.stringify(items, null, 2)}\n` : table(items as Record<string, unknown>[], columns)),
    object: (value, text) => io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`),
  };
}

function clientOf(values: { url?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv): OAuthUsageClient {
  const baseUrl = values.url ?? env.OAUTH_USAGE_URL ?? 'http://127.0.0.1:3000';
  if (!/^https?:\/\//.test(baseUrl)) throw new UsageError(`--url must be an http(s) URL, not '${baseUrl}'`);
  const given = values.token ?? env.OAUTH_USAGE_TOKEN;
  const command = env.OAUTH_USAGE_TOKEN_COMMAND;
  if (!given && !command) throw new UsageError('no token: pass --token, or set OAUTH_USAGE_TOKEN or OAUTH_USAGE_TOKEN_COMMAND');
  let fetched: string | undefined;
  // A command is run once, when the first call needs the token (e.g. `npm run -s token -- --org my-org`).
  const token = given ?? (() => (fetched ??= execSync(command as string, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()));
  return createClient({ baseUrl, token });
}

function fail(error: unknown, io: Io): number {
  const write = (text: string) => io.stderr.write(`oauth-usage: ${text}\n`);
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    write(`${error.message}\n(oauth-usage --help)`);
    return EXIT.usage;
  }
  if (error instanceof OAuthUsageError) {
    write(`${error.status} ${error.kind ?? ''}: ${error.message}`.replace(' : ', ': '));
    for (const field of error.problem?.errors ?? []) write(`  ${field.path}: ${field.message}`);
    if (error.status === 404) return EXIT.notFound;
    if (error.status === 401 || error.status === 403) return EXIT.unauthorized;
    if (isTransient(error)) return EXIT.unavailable;
    if (error.status === 409 || error.status === 412 || error.status === 422) return EXIT.refused;
    if (error.status === 400) return EXIT.usage;
    return EXIT.error;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    write(`the service could not be reached (${(error.cause as Error | undefined)?.message ?? error.message})`);
    return EXIT.unavailable;
  }
  write(error instanceof Error ? error.message : String(error));
  return EXIT.error;
}
