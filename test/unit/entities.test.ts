import { describe, expect, it } from 'vitest';
import { toAppUser } from '../../shared/db/app-user.js';
import { toToken, tokenKeys } from '../../shared/db/token.js';

const tokenItem = { ...tokenKeys.token('o', 'ab12'), entity: 'Token', orgId: 'o', appId: 'a', userId: 'u', lookupKey: 'ab12', tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', issuedAt: '2026-11-28T16:00:00.000Z' };

describe('entity items read back', () => {
  it('become records, with storage attributes stripped and absent values filled', () => {
    const token = toToken({ ...tokenItem, gsi1pk: 'x', gsi1sk: 'y', ttl: 1 });
    expect(token).toMatchObject({ tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', revokedAt: null, childCount: 0, useCount: 0, scopes: [] });
    expect(token).not.toHaveProperty('pk');
    expect(token).not.toHaveProperty('gsi1pk');
    expect(toToken({ ...tokenItem, entity: 'TokenTombstone', revokedAt: '2026-11-29T00:00:00.000Z' })?.revokedAt).toBe('2026-11-29T00:00:00.000Z');
    expect(toToken(undefined)).toBeUndefined();
  });

  it('refuse an item of another entity, or one missing what every record of the entity has', () => {
    expect(() => toToken({ ...tokenItem, entity: 'AppUser' })).toThrow(/malformed: entity AppUser/);
    const { userId: _missing, ...withoutUser } = tokenItem;
    expect(() => toToken(withoutUser)).toThrow(/userId/);
    expect(() => toToken({ ...tokenItem, type: 'bearer' })).toThrow(/type/);
    expect(() => toAppUser({ pk: 'p', sk: 's', entity: 'AppUser', orgId: 'o', appId: 'a', userId: 'u', activeTokenCount: '3', revokeEpoch: 0 })).toThrow(/activeTokenCount/);
  });
});
