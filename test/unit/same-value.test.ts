import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameValue } from '../../shared/same-value.js';

/** The same value with every object's keys in reverse order, as a stored map may come back. */
const reordered = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reordered);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reordered(v)]));
  return value;
};

describe('sameValue', () => {
  it('compares objects by value, whatever the order of their keys, at any depth', () => {
    expect(sameValue(
      { refreshTokenPolicy: { mode: 'expire-after', value: 1, unit: 'hours' }, accessTokenLifetimeMinutes: null, ipRelaxation: 'enforce' },
      { ipRelaxation: 'enforce', accessTokenLifetimeMinutes: null, refreshTokenPolicy: { unit: 'hours', value: 1, mode: 'expire-after' } },
    )).toBe(true);
    fc.assert(fc.property(fc.jsonValue(), (value) => sameValue(value, reordered(value)) && sameValue(reordered(value), value)));
  });

  it('compares arrays in order, and tells different values apart', () => {
    expect(sameValue(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameValue(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameValue({ mode: 'expire-after', value: 1, unit: 'hours' }, { mode: 'expire-after', value: 1, unit: 'days' })).toBe(false);
    expect(sameValue({ a: null }, {})).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue(null, 'null')).toBe(false);
    expect(sameValue(1, '1')).toBe(false);
    expect(sameValue([], {})).toBe(false);
  });
});
