import { describe, expect, it } from 'vitest';
import { appKeys, randomShard } from '../../shared/db/app.js';
import { appUserKeys } from '../../shared/db/app-user.js';
import { auditKeys } from '../../shared/db/audit-event.js';
import { DUE_TOKEN_PARTITIONS, dueKeys } from '../../shared/db/due-index.js';
import { dueBucket, dueEntriesOfItem, dueEntriesOfUpdate, markerKeys } from '../../shared/db/due-markers.js';
import { setClause } from '../../shared/db/requests.js';
import { idempotencyKeys } from '../../shared/db/idempotency-key.js';
import { jobKeys } from '../../shared/db/job.js';
import { tokenKeys, tokenRangeBounds, tokenRanges } from '../../shared/db/token.js';
import { APP_SHARDS, fromKeyPart, keyPart, orgPrefix, TOKEN_INDEX_SHARDS } from '../../shared/db/table.js';

describe('the entities\' key builders', () => {
  it('start every tenant key with the org', () => {
    const all = [
      appKeys.app('o1', 'a').pk, appKeys.shard('o1', 'a', 3).pk, appUserKeys.row('o1', 'a', 'u').pk, appUserKeys.appOfUser('o1', 'u', 'a', 0).pk, tokenKeys.token('o1', 'ff').pk,
      appKeys.collection('o1', 'a').pk, auditKeys.event('o1', 'e').pk, jobKeys.job('o1', 'j').pk, idempotencyKeys.key('o1', 'h').pk,
      markerKeys.marker('o1', { start: 's', end: 'e' }).pk,
      ...[
        tokenKeys.ofUser('o1', 'a', 'u'), tokenKeys.ofAppEpoch('o1', 'a', 0, 'u'), appKeys.byName('o1', 'N', 'a'), appKeys.activeByName('o1', 'N', 'a'),
        appUserKeys.activeById('o1', 'a', 0, 'u'), appUserKeys.activeByLastUse('o1', 'a', 0, null, 'u'),
        auditKeys.byApp('o1', 'a', 'e'), auditKeys.byUser('o1', 'u', 'e'), auditKeys.byAppAndUser('o1', 'a', 'u', 'e'), jobKeys.lists('o1', 'a', 'queued', 'j'),
      ].map((attributes) => Object.entries(attributes).find(([name]) => name.endsWith('pk'))?.[1] ?? 'missing'),
    ];
    for (const pk of all) expect(pk.startsWith('ORG#o1')).toBe(true);
  });

  it('list an app’s active users newest epoch first, then by userId or by last use, so rows of an ended epoch sort after every current one', () => {
    const byId = (epoch: number, userId: string) => appUserKeys.activeById('o', 'a', epoch, userId).gsi3sk;
    expect([byId(2, 'b'), byId(1, 'a'), byId(10, 'z'), byId(2, 'a'), byId(0, '0')].sort()).toEqual([byId(10, 'z'), byId(2, 'a'), byId(2, 'b'), byId(1, 'a'), byId(0, '0')]);
    const byUse = (epoch: number, at: string | null, userId: string) => appUserKeys.activeByLastUse('o', 'a', epoch, at, userId).gsi4sk;
    const newestFirst = [byUse(1, '2026-01-01T00:00:00.000Z', 'x'), byUse(10, null, 'n'), byUse(10, '2026-01-01T00:00:00.000Z', 'm'), byUse(9, '2027-01-01T00:00:00.000Z', 'y')].sort().reverse();
    expect(newestFirst).toEqual([byUse(10, '2026-01-01T00:00:00.000Z', 'm'), byUse(10, null, 'n'), byUse(9, '2027-01-01T00:00:00.000Z', 'y'), byUse(1, '2026-01-01T00:00:00.000Z', 'x')]);
    const link = (appId: string, epoch: number) => appUserKeys.appOfUser('o', 'u', appId, epoch).sk;
    expect([link('b', 0), link('a', 11), link('a', 2)].sort()).toEqual([link('a', 2), link('a', 11), link('b', 0)]);
  });

  it('sort an app’s shards right behind the app and before any other app id, whatever characters the ids hold', () => {
    const ids = ['a', 'a.b', 'a-b', 'a+b', 'a:b', 'a@b', 'a_b', 'a0', 'aZ', 'a!b', 'a"b', 'a$b', 'a$!', 'a|b', 'a~', 'a!', 'a$'];
    const sorted = [
      ...ids.map((id) => appKeys.app('o', id).sk),
      ...Array.from({ length: APP_SHARDS }, (_, n) => appKeys.shard('o', 'a', n).sk),
    ].sort();
    const range = appKeys.collection('o', 'a');
    const inRange = sorted.filter((sk) => sk >= range.from && sk <= range.to);
    expect(inRange).toEqual([appKeys.app('o', 'a').sk, ...Array.from({ length: APP_SHARDS }, (_, n) => appKeys.shard('o', 'a', n).sk)]);
  });

  it('escape ids so what follows an id\'s key in another id\'s sorts above the separator, the order of ids kept and no two ids keyed alike', () => {
    const ids = ['a', 'a!', 'a!b', 'a"', 'a$', 'a$!', 'a$$', 'a&', 'a', 'b', '!', '"', '$', '$!', '!!', 'auth0|abc123', '_k3jX-9', '-x7'];
    for (const id of ids) {
      expect(fromKeyPart(keyPart(id))).toBe(id);
      for (const other of ids) {
        const [mine, theirs] = [keyPart(id), keyPart(other)];
        if (other !== id && theirs.startsWith(mine)) expect(theirs[mine.length]! > '#', `${other} after ${id}`).toBe(true);
      }
    }
    expect(new Set(ids.map(keyPart)).size).toBe(new Set(ids).size);
    const byKey = [...new Set(ids)].sort((x, y) => (keyPart(x) < keyPart(y) ? -1 : 1));
    expect(byKey).toEqual([...new Set(ids)].sort());
    expect(keyPart('crm-sync.v2@x+y:z_0')).toBe('crm-sync.v2@x+y:z_0'); // ids of the earlier alphabet keep their keys
    const entry = { pk: tokenKeys.token('o!', 'ab12').pk, sk: 'TOKEN', ...dueKeys.token('2027-01-01T00:00:00.000Z', 'o!', 'a$b', 'auth0|u"1', 'ab12') };
    expect(dueKeys.parseToken(entry)).toEqual({ orgId: 'o!', appId: 'a$b', userId: 'auth0|u"1', lookupKey: 'ab12' });
  });

  it('keep a user’s usage row apart from other users and apps', () => {
    expect(appUserKeys.row('o', 'a', 'u')).toEqual({ pk: 'ORG#o#APP#a', sk: 'USER#u' });
    expect(appUserKeys.row('o', 'a', 'u')).not.toEqual(appUserKeys.row('o', 'b', 'u'));
  });

  it('put due entries in a range that ends at the due time, spread tokens over the due partitions, and name what is due', () => {
    const gsi4sk = (attributes: Record<string, string>) => attributes.gsi4sk as string;
    const dueBy = dueKeys.dueBy('2027-01-01T00:00:00.000Z');
    expect(gsi4sk(dueKeys.token('2027-01-01T00:00:00.000Z', 'o', 'a', 'u', 'ff00')) <= dueBy).toBe(true);
    expect(gsi4sk(dueKeys.token('2027-01-01T00:00:00.001Z', 'o', 'a', 'u', 'ff00')) <= dueBy).toBe(false);
    expect(gsi4sk(dueKeys.job('2026-12-31T23:59:59.999Z', 'o', 'job_1')) <= dueBy).toBe(true);
    const partitions = new Set(Array.from({ length: 256 }, (_, i) => dueKeys.token('t', 'o', 'a', 'u', i.toString(16).padStart(2, '0') + '00').gsi4pk));
    expect(partitions).toEqual(new Set(Array.from({ length: DUE_TOKEN_PARTITIONS }, (_, n) => dueKeys.tokenPartition('o', n))));
    // Every org's entries in partitions of its own, whatever its id spells.
    expect(dueKeys.tokenPartition('o', 0)).not.toBe(dueKeys.tokenPartition('p', 0));
    expect(dueKeys.jobPartition('o$!')).not.toBe(dueKeys.jobPartition('o!'));
    expect(dueKeys.jobPartition('o')).not.toBe(dueKeys.jobPartition('p'));
    const entry = { pk: tokenKeys.token('o', 'ab12').pk, sk: 'TOKEN', ...dueKeys.token('2027-01-01T00:00:00.000Z', 'o', 'a.b', 'u@x', 'ab12') };
    expect(dueKeys.parseToken(entry)).toEqual({ orgId: 'o', appId: 'a.b', userId: 'u@x', lookupKey: 'ab12' });
    expect(dueKeys.parseJob(dueKeys.job('2027-01-01T00:00:00.000Z', 'o', 'job_1'))).toEqual({ dueAt: '2027-01-01T00:00:00.000Z', orgId: 'o', jobId: 'job_1' });
  });

  it('mark an org as having due work in the bucket of the time its work is due, finer near now, and find the org and bucket back from the mark', () => {
    const now = Date.parse('2027-01-01T10:02:00.000Z');
    expect(dueBucket('2027-01-01T10:03:00.000Z', now)).toEqual({ start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' });
    expect(dueBucket('2027-01-01T09:00:00.000Z', now)).toEqual({ start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' }); // already due: now's bucket
    expect(dueBucket('2027-01-01T13:30:00.000Z', now)).toEqual({ start: '2027-01-01T13:00:00.000Z', end: '2027-01-01T14:00:00.000Z' });
    expect(dueBucket('2027-03-04T13:30:00.000Z', now)).toEqual({ start: '2027-03-04T00:00:00.000Z', end: '2027-03-05T00:00:00.000Z' });
    // Times stored before they were bounded: by where their text sorts.
    expect(dueBucket('2027-01-01T10:03:00-05:00', now)).toEqual({ start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' });
    expect(dueBucket('+010000-01-01T23:58:59.000Z', now)).toEqual({ start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' });
    const marker = markerKeys.marker('auth0|o"1', { start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' });
    expect(markerKeys.parse(marker)).toEqual({ orgId: 'auth0|o"1', bucket: { start: '2027-01-01T10:00:00.000Z', end: '2027-01-01T10:05:00.000Z' } });
    expect(marker.pk.startsWith(orgPrefix('auth0|o"1'))).toBe(true);
    // The write layer finds the due entries a write puts, and no marker for a marker or an entry of the old shared keys.
    expect(dueEntriesOfItem({ ...dueKeys.job('2027-01-01T10:03:00.000Z', 'o', 'job_1') })).toEqual([{ orgId: 'o', dueAt: '2027-01-01T10:03:00.000Z' }]);
    expect(dueEntriesOfItem({ ...dueKeys.token('2027-01-01T10:03:00.000Z', 'o$x', 'a', 'u', 'ab12') })).toEqual([{ orgId: 'o$x', dueAt: '2027-01-01T10:03:00.000Z' }]);
    expect(dueEntriesOfItem(marker)).toEqual([]);
    expect(dueEntriesOfItem({ gsi4pk: 'DUE#JOBS', gsi4sk: '2027-01-01T10:03:00.000Z#o#job_1' })).toEqual([]);
    const set = setClause({ status: 'queued', ...dueKeys.job('2027-01-01T10:03:00.000Z', 'o', 'job_1') }, 's');
    expect(dueEntriesOfUpdate({ UpdateExpression: `SET ${set.parts.join(', ')}`, ExpressionAttributeNames: set.names, ExpressionAttributeValues: set.values })).toEqual([{ orgId: 'o', dueAt: '2027-01-01T10:03:00.000Z' }]);
  });

  it('pick a counter shard within range', () => {
    expect(randomShard(() => 0)).toBe(0);
    expect(randomShard(() => 0.999999)).toBe(APP_SHARDS - 1);
  });

  it('order apps by case-insensitive name, then appId, with each app’s shards right behind it', () => {
    const sortKey = (attributes: Record<string, string>) => Object.entries(attributes).find(([n]) => n.endsWith('sk'))?.[1] as string;
    const rows = [
      sortKey(appKeys.byName('o', 'beta', 'b')),
      sortKey(appKeys.byName('o', 'Alpha', 'z')),
      sortKey(appKeys.byName('o', 'alpha', 'a')),
      sortKey(appKeys.byName('o', 'alpha', 'a', 0)),
      sortKey(appKeys.byName('o', 'alpha', 'a', 7)),
      sortKey(appKeys.byName('o', 'alpha beta', 'c')),
      sortKey(appKeys.byName('o', 'alpha', 'ab')),
    ].sort();
    expect(rows).toEqual([
      sortKey(appKeys.byName('o', 'alpha', 'a')),
      sortKey(appKeys.byName('o', 'alpha', 'a', 0)),
      sortKey(appKeys.byName('o', 'alpha', 'a', 7)),
      sortKey(appKeys.byName('o', 'alpha', 'ab')),
      sortKey(appKeys.byName('o', 'Alpha', 'z')),
      sortKey(appKeys.byName('o', 'alpha beta', 'c')),
      sortKey(appKeys.byName('o', 'beta', 'b')),
    ]);
  });

  it('list an app\'s tokens per epoch with a user\'s tokens together, spread evenly over the shards', () => {
    const users = Array.from({ length: 8000 }, (_, n) => `user-${n}`);
    const perShard = new Map<string, number>();
    for (const u of users) {
      const keys = tokenKeys.ofAppEpoch('o', 'a', 3, u);
      expect(keys.gsi6pk).toMatch(/^ORG#o#APP#a#TOKENS#3#[0-7]$/);
      expect(keys.gsi6sk.endsWith(`#${u}`)).toBe(true);
      perShard.set(keys.gsi6pk, (perShard.get(keys.gsi6pk) ?? 0) + 1);
    }
    expect(tokenKeys.ofAppEpoch('o', 'a', 3, 'user-1')).toEqual(tokenKeys.ofAppEpoch('o', 'a', 3, 'user-1'));
    expect(perShard.size).toBe(TOKEN_INDEX_SHARDS);
    for (const n of perShard.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });

  it('cut each shard of the app\'s token list into ranges that cover every sort key once', () => {
    for (const parts of [1, 2, 13, 100, 256]) {
      const ranges = tokenRanges(parts).filter((r) => r.shard === 0);
      expect(ranges).toHaveLength(parts);
      const bounds = ranges.map(tokenRangeBounds);
      for (const u of ['a', 'b', 'user-7', 'z@example.com']) {
        const sk = tokenKeys.ofAppEpoch('o', 'a', 0, u).gsi6sk;
        expect(bounds.filter(([from, to]) => sk >= from && sk <= to), `${sk} in ${parts} parts`).toHaveLength(1);
      }
      expect(bounds[0]?.[0]).toBe('00');
      expect(bounds.at(-1)?.[1]).toBe('ff~');
      for (let i = 1; i < bounds.length; i++) expect((bounds[i]?.[0] ?? '') > (bounds[i - 1]?.[1].slice(0, 2) ?? '')).toBe(true);
    }
    expect(tokenRanges(0)).toHaveLength(TOKEN_INDEX_SHARDS);
    expect(tokenRanges(10_000)).toHaveLength(TOKEN_INDEX_SHARDS * 256);
  });
});
