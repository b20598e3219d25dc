import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { appKeys } from '../../shared/db/app.js';
import { appUserKeys } from '../../shared/db/app-user.js';
import { table } from '../../shared/db/table.js';
import { reconcile } from '../../shared/domain/reconcile.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';

const org = 'org-reconcile';
const counts = async (appId: string) => {
  const { body } = await call('getApp', { claims: as(org), path: { appId } });
  return [body.userCount, body.activeTokenCount];
};

describe('the reconciler', () => {
  it('finds counters that drifted from the items, reports them, and repairs them', async () => {
    await createApp(org, 'drifty');
    for (const userId of ['a', 'a', 'b']) await register(org, { token: rawToken(), type: 'access', appId: 'drifty', userId });
    // Damage the stored counters as a bug might: user a claims 5 tokens, and one shard is off by 3 tokens and 1 user.
    await db.send(new UpdateCommand({ TableName, Key: appUserKeys.row(org, 'drifty', 'a'), UpdateExpression: 'SET activeTokenCount = :n', ExpressionAttributeValues: { ':n': 5 } }));
    await db.send(new UpdateCommand({ TableName, Key: appKeys.shard(org, 'drifty', 3), UpdateExpression: 'ADD activeTokenCount :t, userCount :u', ExpressionAttributeValues: { ':t': 3, ':u': 1 } }));
    expect(await counts('drifty')).toEqual([3, 6]);

    const dry = await reconcile(org, 'drifty', { repair: false });
    expect(dry).toMatchObject({ usersChecked: 2, tokensChecked: 3, userDrift: [['a', 5, 2]], repaired: false });
    expect(dry?.appDrift).toEqual({ userCount: [3, 2], activeTokenCount: [6, 6] }); // shards against the users' rows as stored
    expect(await counts('drifty')).toEqual([3, 6]);

    const fixed = await reconcile(org, 'drifty', { repair: true });
    expect(fixed?.userDrift).toEqual([['a', 5, 2]]);
    expect(await counts('drifty')).toEqual([2, 3]);
    const clean = await reconcile(org, 'drifty', { repair: false });
    expect(clean).toMatchObject({ userDrift: [], appDrift: { userCount: [2, 2], activeTokenCount: [3, 3] } });
  });

  it('lists or unlists a user whose repaired count crosses zero', async () => {
    await createApp(org, 'relist');
    await register(org, { token: rawToken(), type: 'access', appId: 'relist', userId: 'lost' });
    const gsi = table.indexes;
    await db.send(new UpdateCommand({
      TableName, Key: appUserKeys.row(org, 'relist', 'lost'),
      UpdateExpression: 'SET activeTokenCount = :zero REMOVE #a, #b, #c',
      ExpressionAttributeNames: { '#a': gsi.gsi3.partitionKey, '#b': gsi.gsi3.sortKey, '#c': gsi.gsi4.partitionKey },
      ExpressionAttributeValues: { ':zero': 0 },
    }));
    await db.send(new DeleteCommand({ TableName, Key: appUserKeys.appOfUser(org, 'lost', 'relist', 0) }));
    const users = async () => ((await call('listAppUsers', { claims: as(org), path: { appId: 'relist' } })).body.items ?? []).map((u) => u.userId);
    const apps = async () => ((await call('listUserApps', { claims: as(org), path: { userId: 'lost' } })).body.items ?? []).map((a) => a.appId);
    expect([await users(), await apps()]).toEqual([[], []]);
    await reconcile(org, 'relist', { repair: true });
    expect([await users(), await apps()]).toEqual([['lost'], ['relist']]);
  });

  it('answers undefined for an app it does not know', async () => {
    expect(await reconcile(org, 'missing', { repair: false })).toBeUndefined();
  });
});
