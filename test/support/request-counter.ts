import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);

interface Entry {
  command: string;
  start: number;
  end: number;
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
      const entry: Entry = { command: String(context.commandName), start: performance.now(), end: Infinity };
      entries.push(entry);
      try {
        return await next(args);
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
    readRoundTrips: () => roundTrips((e) => READS.has(e.command)),
    writeRoundTrips: () => roundTrips((e) => !READS.has(e.command)),
    dispose: () => client.middlewareStack.remove(name),
  };
}
