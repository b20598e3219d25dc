/**
 * The pieces answers are made of. An answer's own schema is beside the routes that give it
 * (shared/api/<area>.ts): a function bundles its area's answers only, and the worker and the
 * sweep, which answer nothing, none. The views in shared/domain are typed by them, and the app
 * and job views are built from them (`viewOf`), which only functions that answer load.
 */
import * as v from 'valibot';
import { documentedAs } from './common.js';

/** A time the service gives out: always the canonical form. */
export const instantSchema = v.pipe(v.string(), documentedAs({ type: 'string', format: 'date-time', examples: ['2026-11-28T16:30:00.000Z'] }));
export const nullableInstant = v.nullable(instantSchema);

/** A page of a list: `{ items, nextCursor }`. */
export const pageOf = <S extends v.GenericSchema>(item: S) => v.object({
  items: v.array(item),
  nextCursor: v.pipe(v.nullable(v.string()), v.description('Opaque; null on the last page. A page may hold fewer items than `limit` while this is not null.')),
});

export const counterSchema = v.pipe(v.number(), v.integer(), v.minValue(0));

/** An app's live counters, in the apps list and the app's detail. */
export const appCounters = {
  userCount: v.pipe(counterSchema, v.description('Users holding at least one active token (exact, live).')),
  activeTokenCount: counterSchema,
  lastUsedAt: v.pipe(nullableInstant, v.description('Accurate to about a minute.')),
};

/**
 * `record` as the answer `schema` shows it: the schema's fields, in its order, and nothing else
 * (a record holds more than any answer shows). A field added to the schema is in the view.
 */
export function viewOf<S extends v.ObjectSchema<v.ObjectEntries, undefined>>(schema: S, record: v.InferOutput<S>): v.InferOutput<S> {
  return Object.fromEntries(Object.keys(schema.entries).map((key) => [key, (record as Record<string, unknown>)[key]]));
}
