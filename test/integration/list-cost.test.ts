import { describe, expect, it } from 'vitest';
import { measureLists, seedLists } from '../../bench/parts/list-pages.js';
import { measureUserPages, seedUsers } from '../../bench/parts/user-search.js';

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

  it('the org\'s users, searched by id or name: at most two Queries a page, and the same items read at 1× and 10× the users', { timeout: 120_000 }, async () => {
    await seedUsers(30);
    const small = await measureUserPages();
    await seedUsers(300);
    const large = await measureUserPages();
    expect(Object.fromEntries(large)).toEqual(Object.fromEntries(small));
    for (const [name, cost] of small) {
      const queries = cost.requests.filter((r) => r === 'QueryCommand').length;
      expect(queries, name).toBeLessThanOrEqual(2);
      // Usage by User's search reads the app's epoch first (one shard).
      expect(cost.requests.filter((r) => r !== 'QueryCommand' && r !== 'BatchGetItemCommand'), name).toEqual(name.startsWith('usage by user') ? ['GetItemCommand'] : []);
    }
  });
});
