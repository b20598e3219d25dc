import { serviceKeys, type ServiceKeys } from '../service-secret.js';
import { ValidationError } from '../errors.js';
import { createSealer } from '../crypto.js';
import { bytesAsBodyOfResult, LAMBDA_MAX_RESPONSE_BYTES } from '../lambda-limits.js';
import type { ListedPage } from '../db/requests.js';

let built: { keys: ServiceKeys; sealer: ReturnType<typeof createSealer> } | undefined;
/** The sealer of the key set the container holds now (rebuilt when the secret changed). */
export const sealerNow = () => {
  const keys = serviceKeys();
  if (built?.keys !== keys) built = { keys, sealer: createSealer(keys) };
  return built.sealer;
};

/**
 * List cursors: the DynamoDB key to continue from, signed and bound to the org and the list it came
 * from (`list` names the list and its parameters), so a tampered or transplanted cursor is a 400.
 */
export const cursors = {
  encode(orgId: string, list: string, lastKey: Record<string, unknown> | undefined): string | null {
    return lastKey ? sealerNow().seal(`${orgId}\n${list}`, lastKey) : null;
  },
  decode(orgId: string, list: string, cursor: string | undefined): Record<string, unknown> | undefined {
    if (cursor === undefined) return undefined;
    const value = sealerNow().open(`${orgId}\n${list}`, cursor);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field('query.cursor', 'is not a cursor of this list');
    }
    return value as Record<string, unknown>;
  },
};

/** Room left in Lambda's result for the status, the headers, the cursor and the list's own braces. */
const ROOM_FOR_ALL_BUT_ITEMS = 64 * 1024;
const ITEMS_BUDGET_BYTES = LAMBDA_MAX_RESPONSE_BYTES - ROOM_FOR_ALL_BUT_ITEMS;

/**
 * A list's answer from one page: its items' views (`view` answering undefined leaves an item out)
 * and the cursor. A page whose answer Lambda could not return (its body, JSON-escaped inside the
 * function's result, over 6 MB: a page of big jobs or audit events read in one BatchGetItem) is cut
 * short, and its cursor resumes right after the last item kept.
 */
export function listAnswer<T, V>(orgId: string, list: string, page: ListedPage<T>, view: (item: T) => V | undefined): { items: V[]; nextCursor: string | null } {
  const views = page.items.map(view);
  const shown = views.filter((v): v is V => v !== undefined);
  // Escaped into a JSON string, JSON at most doubles (only `"` and `\` gain a byte): a page whose
  // JSON is under half the budget fits whole, measured with one serialization.
  if (2 * Buffer.byteLength(JSON.stringify(shown)) <= ITEMS_BUDGET_BYTES) return { items: shown, nextCursor: cursors.encode(orgId, list, page.lastKey) };
  const items: V[] = [];
  let bytes = 0;
  let lastKept = -1;
  for (const [i, itemView] of views.entries()) {
    if (itemView === undefined) continue;
    bytes += bytesAsBodyOfResult(itemView) + 1;
    if (bytes > ITEMS_BUDGET_BYTES && items.length > 0) {
      return { items, nextCursor: cursors.encode(orgId, list, page.resumeKeys[lastKept]) };
    }
    items.push(itemView);
    lastKept = i;
  }
  return { items, nextCursor: cursors.encode(orgId, list, page.lastKey) };
}

/** Where a prefix search resumes: in the list by id or by name, and from which key (null: its start). */
export type SearchCursor = { byName: boolean; key: Record<string, unknown> | null };

/**
 * A page of a search by a prefix of the id or of the name: the matches by id first, then those by
 * name (each read function leaves out, by name, the users whose id matches: one place per user).
 * A page reads the list by name only once the list by id has ended on it: at most two Queries.
 * `read` answers up to `wanted` matches and where its list resumes (null: it ended). Without a
 * query (`byNameToo` false) it is the list by id alone.
 */
export async function searchPage<T>(
  start: SearchCursor | undefined, limit: number, byNameToo: boolean,
  read: (byName: boolean, startKey: Record<string, unknown> | undefined, wanted: number) => Promise<{ items: T[]; next: Record<string, unknown> | null }>,
): Promise<{ items: T[]; next: SearchCursor | null }> {
  let at: SearchCursor = start ?? { byName: false, key: null };
  const items: T[] = [];
  for (;;) {
    const page = await read(at.byName, at.key ?? undefined, limit - items.length);
    items.push(...page.items);
    if (page.next) return { items, next: { byName: at.byName, key: page.next } };
    if (at.byName || !byNameToo) return { items, next: null };
    at = { byName: true, key: null };
    if (items.length >= limit) return { items, next: at };
  }
}
