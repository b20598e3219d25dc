import { describe, expect, it } from 'vitest';
import { measureLists, seedLists } from '../../bench/parts/list-pages.js';

describe('list pages cost the same whatever the table holds', () => {
  it('reads the same items with the same requests at 1× and 10× the rows', { timeout: 120_000 }, async () => {
    await seedLists(6, 12);
    const small = await measureLists();
    await seedLists(60, 120);
    const large = await measureLists();
    expect(Object.fromEntries(large)).toEqual(Object.fromEntries(small));
    for (const [name, cost] of small) {
      const requests = [...cost.requests].sort();
      const queries = requests.filter((r) => r === 'QueryCommand').length;
      const batchGets = requests.filter((r) => r === 'BatchGetItemCommand').length;
      expect(queries, name).toBe(1);
      expect(batchGets, name).toBeLessThanOrEqual(1);
      expect(requests.length - queries - batchGets, name).toBe(0);
    }
  });
});
