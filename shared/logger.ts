import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';

const withoutUndefined = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));

/**
 * Structured logs: one JSON object per line on stdout, `{ level, message, timestamp, service,
 * requestId?, ...fields }`, which CloudWatch (and Lambda's JSON log format) keeps as it is.
 * The level comes from LOG_LEVEL, else the function's application log level
 * (AWS_LAMBDA_LOG_LEVEL), else INFO. Errors are written as name, message and stack.
 *
 * Deliberately not Powertools Logger: it adds about 16 ms to every cold start (measured by
 * `npm run bench`), more than everything else this service adds on top of the SDK, for features
 * (sampling, persistent keys, buffering) the service does not use.
 *
 * Nothing logs request bodies or headers, so raw tokens and bearer JWTs never reach a log line.
 */
const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 } as const;
type Level = keyof typeof LEVELS;

const configured = (process.env.LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? 'INFO').toUpperCase();
const threshold = LEVELS[configured as Level] ?? LEVELS.INFO;

type Fields = Record<string, unknown>;
/** Fields of the work in hand (request, org, job), for every line written while it runs, even with several in flight. */
const scoped = new AsyncLocalStorage<Fields>();

/** Errors (also nested one level down, e.g. `{ error }`) as plain objects JSON can carry. */
const serialisable = (value: unknown): unknown =>
  value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;

function write(level: Level, message: string, fields?: Fields | Error): void {
  if (LEVELS[level] < threshold) return;
  const extra = fields instanceof Error ? { error: serialisable(fields) } : Object.fromEntries(Object.entries(fields ?? {}).map(([k, v]) => [k, serialisable(v)]));
  process.stdout.write(`${JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: 'oauth-usage', ...scoped.getStore(), ...extra })}\n`);
}

export const logger = {
  debug: (message: string, fields?: Fields) => write('DEBUG', message, fields),
  info: (message: string, fields?: Fields) => write('INFO', message, fields),
  warn: (message: string, fields?: Fields | Error) => write('WARN', message, fields),
  error: (message: string, fields?: Fields | Error) => write('ERROR', message, fields),
  /** The fields of the work in hand (request, message, org, job), as the next line would carry them. */
  fields: (): Fields => ({ ...scoped.getStore() }),
  /** Runs `work` with `fields` (org, job…) on every line it writes, nested scopes adding to outer ones. */
  within: <T>(fields: Fields, work: () => T): T => scoped.run({ ...scoped.getStore(), ...withoutUndefined(fields) }, work),
  /** Adds fields learnt part-way (the org of a caller a function authenticated itself) to every later line of the current scope. */
  learn: (fields: Fields): void => {
    const store = scoped.getStore();
    if (store) Object.assign(store, withoutUndefined(fields));
  },
  /** Runs a Lambda invocation with its request id and function name on every line it writes. */
  invocation: <T>(lambda: Pick<Context, 'awsRequestId' | 'functionName'>, work: () => T): T =>
    logger.within({ requestId: lambda.awsRequestId, function: lambda.functionName }, work),
};
