import { describe, expect, it } from 'vitest';
import { CapacityModel } from '../../bench/capacity.js';

/** A token as stored: in gsi1 (ALL), gsi6 (INCLUDE) and, with an expiry, gsi4 (KEYS_ONLY). */
const token = (extra: Record<string, unknown> = {}) => ({
  pk: 'ORG#o#TOKEN#abc', sk: 'TOKEN', entity: 'Token', orgId: 'o', appId: 'a', userId: 'u', lookupKey: 'abc', tokenId: 't', type: 'access',
  gsi1pk: 'ORG#o#APP#a#USER#u', gsi1sk: 'TOKEN#t', gsi6pk: 'ORG#o#APP#a#TOKENS#0#1', gsi6sk: 'bc', useCount: 0, ...extra,
});
const put = (model: CapacityModel, item: Record<string, unknown>) => model.cost('PutItemCommand', { Item: item }, undefined).wcu;
const update = (model: CapacityModel, expression: string, names: Record<string, string> = {}) =>
  model.cost('UpdateItemCommand', { Key: { pk: 'ORG#o#TOKEN#abc', sk: 'TOKEN' }, UpdateExpression: expression, ExpressionAttributeNames: names }, undefined).wcu;

describe('the capacity model bills writes as DynamoDB does', () => {
  it('a new item: the item and an entry in each index it is in', () => {
    expect(put(new CapacityModel(), token())).toBe(3);
  });

  it('a put over an indexed item pays for the entries it drops (a tombstone), as a delete does', () => {
    const model = new CapacityModel();
    model.learn([token()]);
    expect(put(model, { pk: 'ORG#o#TOKEN#abc', sk: 'TOKEN', entity: 'TokenTombstone', revokedAt: 'x' })).toBe(3);
    expect(new CapacityModel().removalUnits(token())).toBe(3);
  });

  it('an update rewrites an ALL entry, but an INCLUDE entry only when a projected attribute changes', () => {
    const model = new CapacityModel();
    model.learn([token()]);
    expect(update(model, 'SET lastUsedAt = :at ADD useCount :one')).toBe(2); // the item and its gsi1 copy
  });

  it('an update that moves an entry pays twice; one that removes an entry\'s keys pays once', () => {
    const model = new CapacityModel();
    model.learn([token({ gsi4pk: 'DUE#1', gsi4sk: 'x' })]);
    expect(update(model, 'SET #sk = :later', { '#sk': 'gsi4sk' })).toBe(1 + 1 + 2); // item, gsi1 copy, gsi4 moved
    expect(update(model, 'REMOVE #pk, #sk', { '#pk': 'gsi4pk', '#sk': 'gsi4sk' })).toBe(1 + 1 + 1);
  });

  it('an unknown item is 1 KB and in no index', () => {
    expect(update(new CapacityModel(), 'SET a = :a')).toBe(1);
  });
});
