import { describe, expect, it } from 'vitest';
import { KEYS_MAX_AGE_MS, keyHolder } from '../../shared/service-secret.js';

/** How a container keeps its key set in step with the secret: read again after a bounded age, refusing once it cannot. */
const v1 = Buffer.alloc(32, 1).toString('base64');
const v2 = Buffer.alloc(32, 2).toString('base64');
const staged = JSON.stringify({ current: 1, keys: { 1: v1, 2: v2 } });
const promoted = JSON.stringify({ current: 2, keys: { 1: v1, 2: v2 } });

describe('keyHolder', () => {
  it('reads the secret again only once what it holds is KEYS_MAX_AGE_MS old', async () => {
    let value = v1;
    let reads = 0;
    const holder = keyHolder('SECRET', () => { reads += 1; return Promise.resolve(value); }, true, v1, 0);
    value = staged;
    await holder.refresh(KEYS_MAX_AGE_MS - 1);
    expect([reads, [...holder.keys().keys.keys()]]).toEqual([0, [1]]);
    await holder.refresh(KEYS_MAX_AGE_MS);
    expect([reads, holder.keys().current, [...holder.keys().keys.keys()]]).toEqual([1, 1, [1, 2]]);
    const before = holder.keys();
    await holder.refresh(2 * KEYS_MAX_AGE_MS); // unchanged: the same object
    expect(holder.keys()).toBe(before);
    value = promoted;
    await holder.refresh(3 * KEYS_MAX_AGE_MS);
    expect(holder.keys().current).toBe(2);
  });

  it('goes on with the old set while a read fails, for KEYS_MAX_AGE_MS more, then refuses to work', async () => {
    let failing = false;
    const holder = keyHolder('SECRET', () => (failing ? Promise.reject(new Error('throttled')) : Promise.resolve(v1)), true, v1, 0);
    failing = true;
    await holder.refresh(KEYS_MAX_AGE_MS);
    await holder.refresh(2 * KEYS_MAX_AGE_MS - 1);
    expect(holder.keys().current).toBe(1);
    await expect(holder.refresh(2 * KEYS_MAX_AGE_MS)).rejects.toThrow(/could not be read for too long/);
    failing = false;
    await holder.refresh(2 * KEYS_MAX_AGE_MS + 1);
    expect(holder.keys().current).toBe(1);
  });

  it('never reads again a source that cannot change (a local environment variable)', async () => {
    let reads = 0;
    const holder = keyHolder('SECRET', () => { reads += 1; return Promise.resolve(promoted); }, false, v1, 0);
    await holder.refresh(10 * KEYS_MAX_AGE_MS);
    expect([reads, holder.keys().current]).toEqual([0, 1]);
  });
});
