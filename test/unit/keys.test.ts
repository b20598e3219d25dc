import { describe, expect, it } from 'vitest';
import { keys, randomShard } from '../../shared/db/keys.js';
import { APP_SHARDS } from '../../shared/db/table.js';

describe('key builders', () => {
  it('start every tenant key with the org', () => {
    const all = [
      keys.app('o1', 'a').pk, keys.appShard('o1', 'a', 3).pk, keys.appUser('o1', 'a', 'u').pk, keys.token('o1', 'ff').pk,
      keys.userTokensIndex('o1', 'a', 'u'), keys.appCollection('o1', 'a').pk,
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

  it('pick a counter shard within range', () => {
    expect(randomShard(() => 0)).toBe(0);
    expect(randomShard(() => 0.999999)).toBe(APP_SHARDS - 1);
  });
});
