import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);

interface Entry {
  command: string;
  start: number;
  end: number;
  /** Items the response carried (Query page, BatchGetItem responses, GetItem item). */
  items: number;
}

function itemsIn(output: unknown): number {
  const o = output as { Items?: unknown[]; Item?: unknown; Responses?: Record<string, unknown[]> } | undefined;
  if (!o) return 0;
  if (o.Items) return o.Items.length;
  if (o.Responses) return Object.values(o.Responses).reduce((sum, items) => sum + items.length, 0);
  return o.Item ? 1 : 0;
}

/**
 * Counts DynamoDB requests through an SDK middleware on the real client, and groups them into
 * round trips: requests that overlap in time are one round trip; one that starts after every
 * earlier one finished starts the next. A count, not a time.
 */
export function recordRequests(client: DynamoDBClient) {
  const entries: Entry[] = [];
  let recording = false;
  const name = `requestCounter-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!recording) return next(args);
      const entry: Entry = { command: String(context.commandName), start: performance.now(), end: Infinity, items: 0 };
      entries.push(entry);
      try {
        const result = await next(args);
        entry.items = itemsIn(result.output);
        return result;
      } finally {
        entry.end = performance.now();
      }
    },
    { step: 'initialize', name },
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
    commands: () => entries.map((e) => e.command),
    itemsRead: () => entries.filter((e) => READS.has(e.command)).reduce((sum, e) => sum + e.items, 0),
    readRoundTrips: () => roundTrips((e) => READS.has(e.command)),
    writeRoundTrips: () => roundTrips((e) => !READS.has(e.command)),
    dispose: () => client.middlewareStack.remove(name),
  };
}
