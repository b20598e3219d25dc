/**
 * Capacity units modelled from item sizes, as DynamoDB bills them (DynamoDB Local's
 * ConsumedCapacity is not reliable). Reads: 1 RCU per 4 KB strongly consistent (half for
 * eventually consistent), a Query rounds its items' total, a GetItem or BatchGetItem each item.
 * Writes: 1 WCU per 1 KB of the larger of the item before and after, twice in a transaction;
 * index entries as DynamoDB writes them (see `indexWrites`), each by its own size (ALL: the item;
 * INCLUDE: keys and projected attributes; KEYS_ONLY: keys). What an item was before a write is
 * what was last seen for its key (reads, puts and `learn` teach it); unknown, it is 1 KB and in no index.
 */
import { projectedAttributes, table } from '../shared/db/table.js';

type Item = Record<string, unknown>;

const AV_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);
const isAttributeValue = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && AV_TYPES.has(Object.keys(v)[0] as string);

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const numberSize = (n: string | number) => Math.ceil(String(n).replace(/^-|\.|e.*$/gi, '').replace(/^0+/, '').length / 2) + 1;

/** The stored size of one value (marshalled AttributeValue or plain JS), per DynamoDB's rules. */
function valueSize(v: unknown): number {
  if (isAttributeValue(v)) {
    const [type, inner] = Object.entries(v)[0] as [string, unknown];
    if (type === 'S') return bytes(inner as string);
    if (type === 'N') return numberSize(inner as string);
    if (type === 'B') return (inner as Uint8Array).length;
    if (type === 'BOOL' || type === 'NULL') return 1;
    if (type === 'L') return 3 + (inner as unknown[]).reduce<number>((sum, e) => sum + 1 + valueSize(e), 0);
    if (type === 'M') return 3 + mapSize(inner as Item);
    return (inner as unknown[]).reduce<number>((sum, e) => sum + (type === 'NS' ? numberSize(e as string) : type === 'SS' ? bytes(e as string) : (e as Uint8Array).length), 0);
  }
  if (typeof v === 'string') return bytes(v);
  if (typeof v === 'number') return numberSize(v);
  if (typeof v === 'boolean' || v === null) return 1;
  if (v instanceof Uint8Array) return v.length;
  if (v instanceof Set) return [...v].reduce<number>((sum, e) => sum + valueSize(e), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((sum, e) => sum + 1 + valueSize(e), 0);
  if (typeof v === 'object') return 3 + mapSize(v as Item);
  return 0;
}

const mapSize = (m: Item) => Object.entries(m).reduce((sum, [name, value]) => sum + bytes(name) + 1 + valueSize(value), 0);

export const itemSize = (item: Item): number => Object.entries(item).reduce((sum, [name, value]) => sum + bytes(name) + valueSize(value), 0);

const plain = (v: unknown): unknown => (isAttributeValue(v) ? Object.values(v)[0] : v);
export const keyOf = (item: Item): string => `${String(plain(item[table.partitionKey]))}|${String(plain(item[table.sortKey]))}`;

const indexes = Object.values(table.indexes);
const readUnits = (size: number, consistent: boolean) => Math.max(1, Math.ceil(size / 4096)) * (consistent ? 1 : 0.5);
const writeUnits = (size: number) => Math.max(1, Math.ceil(size / 1024));
const keysOfAnyIndex = new Set<string>(indexes.flatMap((i) => [i.partitionKey, i.sortKey]));

type Index = (typeof indexes)[number];
const tableKeys = [table.partitionKey, table.sortKey];
const keysOf = (index: Index) => [index.partitionKey, index.sortKey];
const inIndex = (index: Index, item: Item | undefined) => item !== undefined && index.partitionKey in item;
/** The size of an item's entry in an index: its keys and what the index projects. */
function entrySize(index: Index, item: Item): number {
  if (index.projection === 'ALL') return itemSize(item);
  const kept = new Set([...tableKeys, ...keysOf(index), ...(projectedAttributes(index) ?? [])]);
  return itemSize(Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name))));
}

/**
 * Index writes of one item write, as DynamoDB bills them: an entry added or removed is one write
 * of its size; an entry whose keys change is two (the old one deleted, the new one put); an entry
 * that stays is rewritten only when an attribute it projects changes.
 */
function indexWrites(before: Item | undefined, after: Item | undefined, changed: Set<string> | undefined): number {
  let touched: string[] | undefined; // what the write changes, worked out once and only if an entry stays
  return indexes.reduce((sum, index) => {
    const was = inIndex(index, before);
    const is = inIndex(index, after);
    if (!was && !is) return sum;
    if (was !== is) return sum + writeUnits(entrySize(index, (was ? before : after) as Item));
    touched ??= changed ? [...changed] : changedAttributes(before as Item, after as Item);
    if (keysOf(index).some((k) => touched?.includes(k))) return sum + writeUnits(entrySize(index, before as Item)) + writeUnits(entrySize(index, after as Item));
    const projected = projectedSets.get(index);
    return sum + (touched.some((name) => !projected || projected.has(name)) ? writeUnits(entrySize(index, after as Item)) : 0);
  }, 0);
}

/** The attributes whose values differ between two versions of an item. */
const changedAttributes = (before: Item, after: Item) => Object.keys({ ...before, ...after }).filter((name) => {
  const [a, b] = [before[name], after[name]];
  return a !== b && (typeof a !== 'object' || typeof b !== 'object' || JSON.stringify(a) !== JSON.stringify(b));
});
/** What each non-ALL index copies: its keys and projected attributes. */
const projectedSets = new Map<Index, Set<string>>(indexes.filter((i) => i.projection !== 'ALL').map((i) => [i, new Set([...keysOf(i), ...(projectedAttributes(i) ?? [])])]));

export interface Cost {
  rcu: number;
  wcu: number;
  /** Keys (`pk|sk`) of the items written. */
  written: string[];
}

/** Models DynamoDB capacity from requests and responses; remembers item sizes by key. */
export class CapacityModel {
  /** The last version of each item seen (read, put or taught), by key: its size and which indexes it is in. */
  private readonly known = new Map<string, Item>();

  /** Items written outside the recorded requests (a benchmark's seed), so later writes know their size and index entries. */
  learn(items: Item[]): void {
    for (const item of items) this.known.set(keyOf(item), item);
  }

  /** The WCU of deleting the item with every index entry it has: the floor of removing it. */
  removalUnits(item: Item): number {
    return writeUnits(itemSize(item)) + indexWrites(item, undefined, undefined);
  }

  /** The WCU of one write that removes `attributes` from the item (and the index entries they key). */
  removingUnits(item: Item, attributes: string[]): number {
    const after = Object.fromEntries(Object.entries(item).filter(([name]) => !attributes.includes(name)));
    return writeUnits(itemSize(item)) + indexWrites(item, after, new Set(attributes));
  }

  private sizeOf(id: string): number {
    const item = this.known.get(id);
    return item ? itemSize(item) : 1024;
  }

  private write(kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck', request: Item, factor: number): Cost {
    const key = (request.Item ?? request.Key) as Item;
    const id = keyOf(key);
    if (kind === 'ConditionCheck') return { rcu: 0, wcu: factor * writeUnits(this.sizeOf(id)), written: [] };
    const before = this.known.get(id);
    if (kind === 'Put') {
      this.known.set(id, key);
      return { rcu: 0, wcu: factor * writeUnits(Math.max(itemSize(key), before ? itemSize(before) : 0)) + indexWrites(before, key, undefined), written: [id] };
    }
    const size = this.sizeOf(id);
    if (kind === 'Delete') {
      this.known.delete(id);
      return { rcu: 0, wcu: factor * writeUnits(size) + indexWrites(before, undefined, undefined), written: [id] };
    }
    // An update: what it sets or adds, and what it removes (names, or #placeholders resolved).
    const names = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const expression = typeof request.UpdateExpression === 'string' ? request.UpdateExpression : '';
    const resolve = (clause: string) => (clause.match(/#?[A-Za-z_][\w]*/g) ?? []).map((w) => names[w] ?? w);
    const removed = new Set(resolve(expression.match(/\bREMOVE\b(.*?)(?=\b(?:SET|ADD|DELETE)\b|$)/s)?.[1] ?? ''));
    const changed = new Set([...resolve(expression), ...removed]);
    const after = before && { ...Object.fromEntries(Object.entries(before).filter(([name]) => !removed.has(name))), ...Object.fromEntries([...changed].filter((n) => !removed.has(n) && keysOfAnyIndex.has(n)).map((n) => [n, before[n] ?? ''])) };
    if (after) this.known.set(id, after);
    return { rcu: 0, wcu: factor * writeUnits(size) + indexWrites(before, after, changed), written: [id] };
  }

  cost(command: string, input: Item, output: Item | undefined): Cost {
    const seen = (items: Item[]) => {
      for (const item of items) this.known.set(keyOf(item), item);
      return items;
    };
    const consistent = input.ConsistentRead === true;
    switch (command) {
      case 'GetItemCommand': {
        const item = output?.Item as Item | undefined;
        return { rcu: readUnits(item ? itemSize(seen([item])[0] as Item) : 0, consistent), wcu: 0, written: [] };
      }
      case 'BatchGetItemCommand': {
        const requested = Object.values((input.RequestItems ?? {}) as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>);
        const found = seen(Object.values((output?.Responses ?? {}) as Record<string, Item[]>).flat());
        const keys = requested.reduce((sum, r) => sum + r.Keys.length, 0);
        const strong = requested.every((r) => r.ConsistentRead === true);
        // Each key is at least one unit, found or not.
        return { rcu: found.reduce((sum, i) => sum + readUnits(itemSize(i), strong), 0) + Math.max(0, keys - found.length) * readUnits(0, strong), wcu: 0, written: [] };
      }
      case 'QueryCommand':
      case 'ScanCommand': {
        const items = (output?.Items ?? []) as Item[];
        // Items from the table or an ALL-projection index are whole: learn their sizes.
        const index = indexes.find((i) => i.name === input.IndexName);
        if (!index || index.projection === 'ALL') seen(items);
        return { rcu: readUnits(items.reduce((sum, i) => sum + itemSize(i), 0), consistent), wcu: 0, written: [] };
      }
      case 'PutItemCommand':
        return this.write('Put', input, 1);
      case 'UpdateItemCommand':
        return this.write('Update', input, 1);
      case 'DeleteItemCommand':
        return this.write('Delete', input, 1);
      case 'BatchWriteItemCommand': {
        const requests = Object.values((input.RequestItems ?? {}) as Record<string, Item[]>).flat();
        return sum(requests.map((r) => (r.PutRequest ? this.write('Put', r.PutRequest as Item, 1) : this.write('Delete', r.DeleteRequest as Item, 1))));
      }
      case 'TransactWriteItemsCommand': {
        const items = (input.TransactItems ?? []) as Item[];
        return sum(items.map((t) => {
          const [kind, request] = Object.entries(t)[0] as ['Put' | 'Update' | 'Delete' | 'ConditionCheck', Item];
          return this.write(kind, request, 2);
        }));
      }
      default:
        return { rcu: 0, wcu: 0, written: [] };
    }
  }
}

const sum = (costs: Cost[]): Cost => ({
  rcu: costs.reduce((s, c) => s + c.rcu, 0),
  wcu: costs.reduce((s, c) => s + c.wcu, 0),
  written: costs.flatMap((c) => c.written),
});
