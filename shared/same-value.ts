import { isDeepStrictEqual } from 'node:util';

/**
 * Whether two stored values are the same: equal by value, objects whatever the order of their
 * keys (DynamoDB does not keep a map's key order), arrays in order.
 */
export const sameValue = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);
