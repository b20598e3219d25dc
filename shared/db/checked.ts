import * as v from 'valibot';
import type { Entity } from './table.js';
import { attributesOf, type Item } from './requests.js';

/**
 * Reads an item back as its entity's record: checks its entity type and the attributes every
 * record of the entity has had since the first release (a foreign or damaged item is an error
 * here, not a wrong answer later), strips the storage-only ones, and lets `complete` fill what is
 * stored absent. Schemas are built on first use.
 */
export function recordReader<T>(entity: Entity | readonly Entity[], shape: () => v.ObjectEntries, complete: (stored: Item) => T): (item: Item | undefined) => T | undefined {
  let schema: v.GenericSchema | undefined;
  const entities = new Set<string>(typeof entity === 'string' ? [entity] : entity);
  return (item) => {
    if (!item) return undefined;
    schema ??= v.object(shape()); // checks the named attributes only; copies nothing else (reads are on hot paths)
    const result = v.safeParse(schema, item);
    if (!result.success || !entities.has(String(item.entity))) {
      throw new Error(`Stored ${[...entities].join('/')} ${String(item.pk)} ${String(item.sk)} is malformed: ${result.success ? `entity ${String(item.entity)}` : v.summarize(result.issues)}`);
    }
    return complete(attributesOf(item));
  };
}
