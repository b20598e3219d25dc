import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { logger } from '../shared/logger.js';
import { CapacityModel } from './capacity.js';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);

export interface Entry {
  command: string;
  start: number;
  end: number;
  /** Items the response carried (Query page, BatchGetItem responses, GetItem item). */
  items: number;
  /** Items a batch write carried (BatchWriteItem requests, SendMessageBatch entries). */
  batchSize: number;
  rcu: number;
  wcu: number;
  /** Keys (`pk|sk`) written. */
  written: string[];
  /** The queue message whose work made the request, if any (the worker's log context), and which delivery of it. */
  messageId?: string;
  receiveCount?: number;
  /** A request of the per-org limiter (its report to the org's window, its read of the overrides), not of the request's own work. */
  limiter: boolean;
}

/** Whether a request is the per-org limiter's: its items live in the org's `#RATE` partition (shared/db/rate-window.ts). */
const ofLimiter = (input: Record<string, unknown>) => {
  const pk = (input.Key as { pk?: unknown } | undefined)?.pk;
  return typeof pk === 'string' && pk.endsWith('#RATE');
};

type Output = { Items?: unknown[]; Item?: unknown; Responses?: Record<string, unknown[]> } | undefined;

function itemsIn(output: unknown): number {
  const o = output as Output;
  if (!o) return 0;
  if (o.Items) return o.Items.length;
  if (o.Responses) return Object.values(o.Responses).reduce((sum, items) => sum + items.length, 0);
  return o.Item ? 1 : 0;
}

function batchSizeOf(input: Record<string, unknown>): number {
  if (Array.isArray(input.Entries)) return input.Entries.length;
  const requests = input.RequestItems as Record<string, unknown[]> | undefined;
  return requests && !Object.values(requests).some((r) => !Array.isArray(r)) ? Object.values(requests).reduce((sum, r) => sum + r.length, 0) : 0;
}


/**
 * Counts an AWS SDK client's requests through a middleware on the real client, with the items
 * they carried and (for DynamoDB) the capacity units modelled from item sizes. Groups requests
 * into round trips: requests that overlap in time are one round trip; one that starts after
 * every earlier one finished starts the next. Counts, not times.
 */
export function recordRequests(sdkClient: DynamoDBClient | SQSClient, model = new CapacityModel()) {
  // Both clients share the SDK's middleware stack; its input and output types differ only by client.
  const client = sdkClient as DynamoDBClient;
  const entries: Entry[] = [];
  let recording = false;
  const name = `requestCounter-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!recording) return next(args);
      const input = args.input as Record<string, unknown>;
      const { messageId, receiveCount } = logger.fields() as Pick<Entry, 'messageId' | 'receiveCount'>;
      const entry: Entry = {
        command: String(context.commandName), start: performance.now(), end: Infinity, items: 0, batchSize: batchSizeOf(input), rcu: 0, wcu: 0, written: [], limiter: ofLimiter(input),
        ...(messageId ? { messageId, receiveCount } : {}),
      };
      entries.push(entry);
      try {
        const result = await next(args);
        entry.items = itemsIn(result.output);
        Object.assign(entry, model.cost(entry.command, input, result.output as unknown as Record<string, unknown>));
        return result;
      } finally {
        entry.end = performance.now();
      }
    },
    { step: 'initialize', name, priority: 'low' },
  );

  const roundTrips = (filter: (e: Entry) => boolean) => {
    let trips = 0;
    let lastEnd = -Infinity;
    for (const e of entries.filter(filter).sort((a, b) => a.start - b.start)) {
      if (e.start >= lastEnd) trips++;
      lastEnd = Math.max(lastEnd, e.end);
    }
    return trips;
  };
  const own = () => entries.filter((e) => !e.limiter);
  const total = (pick: (e: Entry) => number) => own().reduce((sum, e) => sum + pick(e), 0);

  return {
    async during<T>(work: () => Promise<T>): Promise<T> {
      entries.length = 0;
      recording = true;
      try {
        return await work();
      } finally {
        recording = false;
      }
    },
    entries: () => [...entries],
    commands: () => own().map((e) => e.command),
    count: (command: string) => own().filter((e) => e.command === command).length,
    itemsRead: () => total((e) => (READS.has(e.command) ? e.items : 0)),
    // The request's own work; the limiter's requests, sent beside it, are counted apart (`limiterRequests`, `allRoundTrips`).
    readRoundTrips: () => roundTrips((e) => !e.limiter && READS.has(e.command)),
    writeRoundTrips: () => roundTrips((e) => !e.limiter && !READS.has(e.command)),
    /** Sequential round trips of every request, the limiter's included: what the caller waits for. */
    allRoundTrips: () => roundTrips(() => true),
    ownRoundTrips: () => roundTrips((e) => !e.limiter),
    limiterRequests: () => entries.filter((e) => e.limiter).map((e) => e.command),
    rcu: () => total((e) => e.rcu),
    wcu: () => total((e) => e.wcu),
    dispose: () => client.middlewareStack.remove(name),
  };
}
