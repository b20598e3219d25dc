import { describe, expect, it } from 'vitest';
import { DUE_TOKEN_PARTITIONS, dueKeys, indexKeys, keys, randomShard } from '../../shared/db/keys.js';
import { APP_SHARDS } from '../../shared/db/table.js';

describe('key builders', () => {
  it('start every tenant key with the org', () => {
    const all = [
      keys.app('o1', 'a').pk, keys.appShard('o1', 'a', 3).pk, keys.appUser('o1', 'a', 'u').pk, keys.token('o1', 'ff').pk,
      keys.appCollection('o1', 'a').pk, keys.auditEvent('o1', 'e').pk,
      ...[
        indexKeys.userTokens('o1', 'a', 'u'), indexKeys.appsByName('o1', 'N', 'a'), indexKeys.activeAppsByName('o1', 'N', 'a'),
        indexKeys.activeUsersById('o1', 'a', 'u'), indexKeys.activeUsersByLastUse('o1', 'a'), indexKeys.activeAppsOfUser('o1', 'u', 'a'),
        indexKeys.auditByApp('o1', 'a', 'e'), indexKeys.auditByUser('o1', 'u', 'e'), indexKeys.auditByAppAndUser('o1', 'a', 'u', 'e'),
      ].map((attributes) => Object.entries(attributes).find(([name]) => name.endsWith('pk'))?.[1] ?? 'missing'),
    ];
    for (const pk of all) expect(pk.startsWith('ORG#o1')).toBe(true);
  });

  it('sort an app’s shards right behind the app and before any other app id', () => {
    const ids = ['a', 'a.b', 'a-b', 'a+b', 'a:b', 'a@b', 'a_b', 'a0', 'aZ'];
    const sorted = [
      ...ids.map((id) => keys.app('o', id).sk),
      ...Array.from({ length: APP_SHARDS }, (_, n) => keys.appShard('o', 'a', n).sk),
    ].sort();
    const range = keys.appCollection('o', 'a');
    const inRange = sorted.filter((sk) => sk >= range.from && sk <= range.to);
    expect(inRange).toEqual([keys.app('o', 'a').sk, ...Array.from({ length: APP_SHARDS }, (_, n) => keys.appShard('o', 'a', n).sk)]);
  });

  it('keep a user’s usage row apart from other users and apps', () => {
    expect(keys.appUser('o', 'a', 'u')).toEqual({ pk: 'ORG#o#APP#a', sk: 'USER#u' });
    expect(keys.appUser('o', 'a', 'u')).not.toEqual(keys.appUser('o', 'b', 'u'));
  });

  it('put due entries in a range that ends at the due time, spread tokens over the due partitions, and name what is due', () => {
    const gsi4sk = (attributes: Record<string, string>) => attributes.gsi4sk as string;
    const dueBy = dueKeys.dueBy('2027-01-01T00:00:00.000Z');
    expect(gsi4sk(dueKeys.token('2027-01-01T00:00:00.000Z', 'o', 'a', 'u', 'ff00')) <= dueBy).toBe(true);
    expect(gsi4sk(dueKeys.token('2027-01-01T00:00:00.001Z', 'o', 'a', 'u', 'ff00')) <= dueBy).toBe(false);
    expect(gsi4sk(dueKeys.job('2026-12-31T23:59:59.999Z', 'o', 'job_1')) <= dueBy).toBe(true);
    const partitions = new Set(Array.from({ length: 256 }, (_, i) => dueKeys.token('t', 'o', 'a', 'u', i.toString(16).padStart(2, '0') + '00').gsi4pk));
    expect(partitions).toEqual(new Set(Array.from({ length: DUE_TOKEN_PARTITIONS }, (_, n) => dueKeys.tokenPartition(n))));
    const entry = { pk: keys.token('o', 'ab12').pk, sk: 'TOKEN', ...dueKeys.token('2027-01-01T00:00:00.000Z', 'o', 'a.b', 'u@x', 'ab12') };
    expect(dueKeys.parseToken(entry)).toEqual({ orgId: 'o', appId: 'a.b', userId: 'u@x', lookupKey: 'ab12' });
    expect(dueKeys.parseJob(dueKeys.job('2027-01-01T00:00:00.000Z', 'o', 'job_1'))).toEqual({ dueAt: '2027-01-01T00:00:00.000Z', orgId: 'o', jobId: 'job_1' });
  });

  it('pick a counter shard within range', () => {
    expect(randomShard(() => 0)).toBe(0);
    expect(randomShard(() => 0.999999)).toBe(APP_SHARDS - 1);
  });

  it('order apps by case-insensitive name, then appId, with each app’s shards right behind it', () => {
    const sortKey = (attributes: Record<string, string>) => Object.entries(attributes).find(([n]) => n.endsWith('sk'))?.[1] as string;
    const rows = [
      sortKey(indexKeys.appsByName('o', 'beta', 'b')),
      sortKey(indexKeys.appsByName('o', 'Alpha', 'z')),
      sortKey(indexKeys.appsByName('o', 'alpha', 'a')),
      sortKey(indexKeys.appsByName('o', 'alpha', 'a', 0)),
      sortKey(indexKeys.appsByName('o', 'alpha', 'a', 7)),
      sortKey(indexKeys.appsByName('o', 'alpha beta', 'c')),
      sortKey(indexKeys.appsByName('o', 'alpha', 'ab')),
    ].sort();
    expect(rows).toEqual([
      sortKey(indexKeys.appsByName('o', 'alpha', 'a')),
      sortKey(indexKeys.appsByName('o', 'alpha', 'a', 0)),
      sortKey(indexKeys.appsByName('o', 'alpha', 'a', 7)),
      sortKey(indexKeys.appsByName('o', 'alpha', 'ab')),
      sortKey(indexKeys.appsByName('o', 'Alpha', 'z')),
      sortKey(indexKeys.appsByName('o', 'alpha beta', 'c')),
      sortKey(indexKeys.appsByName('o', 'beta', 'b')),
    ]);
  });
});
