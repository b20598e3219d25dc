import { DeleteCommand, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/event.js';
import { orgsWithDueWork } from '../../shared/db/due-index.js';
import { db, TableName } from '../../shared/db/client.js';
import { appUserKeys, LEGACY_USER_APPS_INDEX } from '../../shared/db/app-user.js';
import { backfillAppTokenIndex, giveLinksSearchKeys, relistUserRows } from '../../shared/db/migrations.js';
import { table, TOKEN_INDEX_SHARDS } from '../../shared/db/table.js';
import { hasher } from '../../shared/domain/hasher.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const org = 'org-migrate';
const { gsi3, gsi4, gsi6 } = table.indexes;

const tokenItems = async (entity: 'Token' | 'TokenTombstone') => (await db.send(new ScanCommand({
  TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND entity = :e', ExpressionAttributeValues: { ':o': org, ':e': entity },
}))).Items ?? [];

/** Every item the app token index lists for the app's epoch 0, over its shards. */
async function indexed(appId: string): Promise<string[]> {
  const keys: string[] = [];
  for (let shard = 0; shard < TOKEN_INDEX_SHARDS; shard++) {
    const out = await db.send(new QueryCommand({
      TableName, IndexName: gsi6.name, KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi6.partitionKey }, ExpressionAttributeValues: { ':pk': `ORG#${org}#APP#${appId}#TOKENS#0#${shard}` },
    }));
    keys.push(...(out.Items ?? []).map((i) => i.pk as string));
  }
  return keys.sort();
}

describe('npm run migrate: the app token index backfill', () => {
  it('lists tokens registered before the index, resumes where it stopped, changes nothing twice, and lets an all-tokens job clean them', { timeout: 60_000 }, async () => {
    await createApp(org, 'old');
    const raws = Array.from({ length: 30 }, () => rawToken('old'));
    for (const [n, token] of raws.entries()) expect((await register(org, { token, type: 'access', appId: 'old', userId: `user-${n % 6}` })).status).toBe(201);
    const revoked = await call('revoke', { claims: as(org, { scope: 'tokens:write' }), form: { token: raws[0] as string } });
    expect(revoked.status).toBe(200);
    // As an older version stored them: no gsi6 keys on any token.
    const live = await tokenItems('Token');
    expect(live).toHaveLength(29);
    for (const item of live) {
      await db.send(new UpdateCommand({ TableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: 'REMOVE #pk, #sk', ExpressionAttributeNames: { '#pk': gsi6.partitionKey, '#sk': gsi6.sortKey } }));
    }
    const [tombstoneBefore] = await tokenItems('TokenTombstone');
    expect(await indexed('old')).toEqual([]);

    // Stopped after one small page per segment, as a killed run would be.
    const first = await backfillAppTokenIndex({ pagesPerSegment: 1, pageSize: 5 });
    expect(first.complete).toBe(false);
    expect(first.updated).toBeLessThan(29);
    const resumed = await backfillAppTokenIndex({ pageSize: 5 });
    expect(resumed.complete).toBe(true);
    expect(first.updated + resumed.updated).toBe(29);
    expect(await indexed('old')).toEqual(live.map((i) => i.pk as string).sort());
    // The tombstone is not listed or changed; a run after the end changes nothing.
    expect(await tokenItems('TokenTombstone')).toEqual([tombstoneBefore]);
    expect(await backfillAppTokenIndex({ pageSize: 5 })).toMatchObject({ updated: 0, complete: true });

    const job = await call('requestRevocation', { claims: as(org), path: { appId: 'old' }, json: { all: true } });
    expect(job.status).toBe(202);
    await drainQueue();
    expect((await call('getRevocationJob', { claims: as(org), path: { jobId: job.body.jobId as string } })).body).toMatchObject({ status: 'succeeded', progress: { usersDone: 6, tokensRevoked: 29 } });
    expect(await tokenItems('Token')).toEqual([]);
    expect(await tokenItems('TokenTombstone')).toHaveLength(30);
    expect((await introspect(org, raws[1] as string)).body).toEqual({ active: false });
  });
});

describe('npm run migrate: user rows onto the epoch-keyed lists', () => {
  const appId = 'lists';
  const users = async (sort: 'userId' | '-lastUsedAt') => ((await call('listAppUsers', { claims: as(org), path: { appId }, query: { sort } })).body.items ?? []).map((u) => u.userId);
  const appsOf = async (userId: string) => ((await call('listUserApps', { claims: as(org), path: { userId } })).body.items ?? []).map((a) => a.appId);
  const row = async (userId: string) => (await db.send(new GetCommand({ TableName, Key: appUserKeys.row(org, appId, userId), ConsistentRead: true }))).Item ?? {};

  it('moves rows an older version listed, resumes where it stopped, changes nothing twice, and the lists show them again', { timeout: 60_000 }, async () => {
    await createApp(org, appId);
    const raws = { ada: [rawToken(appId), rawToken(appId)], bob: [rawToken(appId)], cy: [rawToken(appId)] };
    for (const [userId, tokens] of Object.entries(raws)) {
      for (const token of tokens) expect((await register(org, { token, type: 'access', appId, userId })).status).toBe(201);
    }
    expect((await introspect(org, raws.bob[0] as string)).body.active).toBe(true);
    // As an older version stored them: listed rows keyed without epochs and with the user's-apps index keys, no links.
    for (const userId of ['ada', 'bob', 'cy']) {
      const lastUsedAt = (await row(userId)).lastUsedAt as string | undefined;
      await db.send(new UpdateCommand({
        TableName, Key: appUserKeys.row(org, appId, userId),
        UpdateExpression: 'SET #s3 = :s3, #s4 = :s4, #p5 = :p5, #s5 = :s5',
        ExpressionAttributeNames: { '#s3': gsi3.sortKey, '#s4': gsi4.sortKey, '#p5': LEGACY_USER_APPS_INDEX[0], '#s5': LEGACY_USER_APPS_INDEX[1] },
        ExpressionAttributeValues: { ':s3': `USER#${userId}`, ':s4': `${lastUsedAt ?? '0'}#${userId}`, ':p5': `ORG#${org}#USER#${userId}#ACTIVE-APPS`, ':s5': `APP#${appId}` },
      }));
      await db.send(new DeleteCommand({ TableName, Key: appUserKeys.appOfUser(org, userId, appId, 0) }));
    }
    // Cy's row was unlisted since (by this version, which leaves the old keys alone).
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId, userId: 'cy' } })).status).toBe(202);
    expect([await users('userId'), await users('-lastUsedAt'), await appsOf('ada')]).toEqual([[], [], []]);

    const first = await relistUserRows({ pagesPerSegment: 1, pageSize: 3 });
    const resumed = await relistUserRows({ pageSize: 3 });
    expect([first.complete, resumed.complete, first.updated + resumed.updated]).toEqual([false, true, 3]);
    expect(await users('userId')).toEqual(['ada', 'bob']);
    expect(await users('-lastUsedAt')).toEqual(['bob', 'ada']);
    expect([await appsOf('ada'), await appsOf('bob'), await appsOf('cy')]).toEqual([[appId], [appId], []]);
    for (const userId of ['ada', 'bob', 'cy']) expect(await row(userId)).not.toHaveProperty(LEGACY_USER_APPS_INDEX[0]);
    expect(await relistUserRows({ pageSize: 3 })).toMatchObject({ updated: 0, complete: true });

    // A use moves the moved row in the by-last-use list as it does any other.
    expect((await introspect(org, raws.ada[0] as string)).body.active).toBe(true);
    expect(await users('-lastUsedAt')).toEqual(['ada', 'bob']);
  });
});

describe('npm run migrate: grants for tokens registered before them', () => {
  const appId = 'pre-grants';
  const grantItems = async () => (await db.send(new ScanCommand({
    TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'Grant' },
  }))).Items ?? [];
  const counts = async () => {
    const { body } = await call('getApp', { claims: as(org), path: { appId } });
    return [body.userCount, body.activeTokenCount];
  };
  /** Asked as the AS, which is shown refresh tokens too (the test presents no rotated-out one of a live grant: that would be reuse). */
  const active = async (raw: string) => (await call('introspect', { claims: as(org, { scope: 'tokens:write tokens:introspect' }), form: { token: raw } })).body.active === true;

  /** Stores the app's tokens as an older version did: no grants, a refresh token counting its access tokens as children. */
  async function asBeforeGrants(children: Record<string, number>) {
    for (const item of [...await tokenItems('Token'), ...await tokenItems('TokenTombstone')].filter((i) => i.appId === appId)) {
      const childCount = children[item.tokenId as string];
      await db.send(new UpdateCommand({
        TableName, Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: `REMOVE grantId${childCount === undefined ? '' : ' SET childCount = :n'}`,
        ...(childCount === undefined ? {} : { ExpressionAttributeValues: { ':n': childCount } }),
      }));
    }
    for (const grant of await grantItems()) await db.send(new DeleteCommand({ TableName, Key: { pk: grant.pk, sk: grant.sk } }));
  }

  it('gives every token its grant, resumes where it stopped, changes nothing twice; revocation and rotation work on the tokens before and after', { timeout: 60_000 }, async () => {
    await createApp(org, appId);
    const reg = async (body: Record<string, unknown>) => {
      const reply = await register(org, { appId, userId: 'ada', ...body });
      expect(reply.status, reply.text).toBe(201);
      return reply.body.tokenId as string;
    };
    const [refresh, a1, a2, alone, dead, deadChild, other, otherChild] = Array.from({ length: 8 }, () => rawToken('pre')) as [string, string, string, string, string, string, string, string];
    const refreshId = await reg({ token: refresh, type: 'refresh' });
    await reg({ token: a1, type: 'access', refreshToken: refresh });
    await reg({ token: a2, type: 'access', refreshToken: refresh });
    await reg({ token: alone, type: 'access' });
    const deadId = await reg({ token: dead, type: 'refresh' });
    const otherId = await reg({ token: other, type: 'refresh' });
    await reg({ token: otherChild, type: 'access', refreshToken: other });
    // A refresh token revoked by the older version, its access token not cleaned up yet (as its queue had not run).
    await reg({ token: deadChild, type: 'access', refreshToken: dead });
    expect(await counts()).toEqual([1, 8]);
    await asBeforeGrants({ [refreshId]: 2, [deadId]: 1, [otherId]: 1 });
    const deadKey = (await tokenItems('Token')).find((i) => i.tokenId === deadId)!;
    await db.send(new UpdateCommand({ TableName, Key: { pk: deadKey.pk, sk: deadKey.sk }, UpdateExpression: 'SET entity = :t, revokedAt = :at', ExpressionAttributeValues: { ':t': 'TokenTombstone', ':at': new Date().toISOString() } }));
    await db.send(new UpdateCommand({ TableName, Key: appUserKeys.row(org, appId, 'ada'), UpdateExpression: 'ADD activeTokenCount :m', ExpressionAttributeValues: { ':m': -2 } }));
    const shard = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': appId, ':e': 'AppShard' } }))).Items!.find((s) => Number(s.activeTokenCount) >= 2)!;
    await db.send(new UpdateCommand({ TableName, Key: { pk: shard.pk, sk: shard.sk }, UpdateExpression: 'ADD activeTokenCount :m', ExpressionAttributeValues: { ':m': -2 } }));
    expect(await counts()).toEqual([1, 6]);
    for (const [raw, live] of [[refresh, true], [a1, true], [alone, true], [deadChild, false]] as const) expect(await active(raw), raw).toBe(live);

    // Before the migration reaches it, a revocation of an older refresh token takes its access tokens (its grant is made first).
    expect((await call('revoke', { claims: as(org), form: { token: other } })).status).toBe(200);
    expect(await active(otherChild)).toBe(false);
    expect(await counts()).toEqual([1, 4]);

    const { adoptScanned } = await import('../../shared/domain/grants.js');
    const { adoptGrants } = await import('../../shared/db/migrations.js');
    const stopped = await adoptGrants(adoptScanned, { pagesPerSegment: 1, pageSize: 2 }).refresh();
    expect(stopped.complete).toBe(false);
    for (const step of ['refresh', 'access'] as const) expect(await adoptGrants(adoptScanned, { pageSize: 2 })[step]()).toMatchObject({ complete: true });
    for (const step of ['refresh', 'access'] as const) expect(await adoptGrants(adoptScanned, { pageSize: 2 })[step]()).toMatchObject({ updated: 0, complete: true });

    const grants = new Map((await grantItems()).map((g) => [g.grantId as string, g]));
    expect(grants.get(refreshId)).toMatchObject({ counted: 3 });
    // A revoked refresh token needs no grant: its access token, dead with it, is a tombstone now.
    expect(grants.has(deadId)).toBe(false);
    expect((await tokenItems('TokenTombstone')).map((i) => i.tokenId as string)).toEqual(expect.arrayContaining([deadId, hasher.digest(deadChild).tokenId]));
    const live = (await tokenItems('Token')).filter((i) => i.appId === appId);
    expect(live.filter((i) => i.grantId === undefined).map((i) => i.tokenId as string)).toHaveLength(1); // the access token issued alone
    for (const [raw, on] of [[refresh, true], [a1, true], [a2, true], [alone, true], [deadChild, false], [otherChild, false]] as const) expect(await active(raw), raw).toBe(on);
    expect(await counts()).toEqual([1, 4]);

    // The adopted grant rotates and revokes like any other.
    const next = rawToken('pre');
    const rotated = await register(org, { tokens: [{ token: next, type: 'refresh', appId, userId: 'ada', previousRefreshToken: refresh }] });
    expect(rotated.status, rotated.text).toBe(201);
    expect(await counts()).toEqual([1, 4]);
    expect((await call('revoke', { claims: as(org), form: { token: next } })).status).toBe(200);
    for (const raw of [refresh, a1, a2, next]) expect(await active(raw)).toBe(false);
    expect(await active(alone)).toBe(true);
    expect(await counts()).toEqual([1, 1]);
  });

  it('counts an access token once when its refresh token was adopted, rotated and then deleted before the migration reached it', { timeout: 60_000 }, async () => {
    const app = 'pre-grants-rotated';
    await createApp(org, app);
    const [refresh, access, next] = [rawToken('pre'), rawToken('pre'), rawToken('pre')];
    const refreshId = (await register(org, { token: refresh, type: 'refresh', appId: app, userId: 'bo' })).body.tokenId as string;
    expect((await register(org, { token: access, type: 'access', appId: app, userId: 'bo', refreshToken: refresh })).status).toBe(201);
    // As an older version stored them.
    for (const item of (await tokenItems('Token')).filter((i) => i.appId === app)) {
      await db.send(new UpdateCommand({ TableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: `REMOVE grantId${item.tokenId === refreshId ? ' SET childCount = :one' : ''}`, ...(item.tokenId === refreshId ? { ExpressionAttributeValues: { ':one': 1 } } : {}) }));
    }
    const grantsOf = async () => ((await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND appId = :a AND entity = :e', ExpressionAttributeValues: { ':o': org, ':a': app, ':e': 'Grant' } }))).Items ?? []);
    for (const g of await grantsOf()) await db.send(new DeleteCommand({ TableName, Key: { pk: g.pk, sk: g.sk } }));
    // Rotated after the upgrade (which adopts it), then deleted as the sweep deletes an expired refresh token.
    expect((await register(org, { token: next, type: 'refresh', appId: app, userId: 'bo', previousRefreshToken: refresh })).status).toBe(201);
    const old = (await tokenItems('Token')).find((i) => i.tokenId === refreshId)!;
    await db.send(new DeleteCommand({ TableName, Key: { pk: old.pk, sk: old.sk } }));
    const { adoptScanned } = await import('../../shared/domain/grants.js');
    const { adoptGrants } = await import('../../shared/db/migrations.js');
    expect(await adoptGrants(adoptScanned).access()).toMatchObject({ complete: true });
    expect((await grantsOf()).map((g) => g.counted as number)).toEqual([2]);
    expect((await call('revoke', { claims: as(org), form: { token: next } })).status).toBe(200);
    expect((await call('introspect', { claims: as(org, { scope: 'tokens:introspect' }), form: { token: access } })).body).toEqual({ active: false });
    const { body } = await call('getApp', { claims: as(org), path: { appId: app } });
    expect([body.userCount, body.activeTokenCount]).toEqual([0, 0]);
  });
});

describe('npm run migrate: due entries to the orgs\' own partitions', () => {
  it('moves every due entry an older version kept in the shared partitions, with its org\'s marker, resumes where it stopped, changes nothing twice, and the sweep then does the work', { timeout: 60_000 }, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const orgs = ['org-migrate-due-a', 'org-migrate-due-b'];
      const raws: string[] = [];
      for (const orgId of orgs) {
        await createApp(orgId, 'due');
        for (let n = 0; n < 3; n++) {
          const raw = rawToken(`due-${n}`);
          expect((await register(orgId, { token: raw, type: 'access', appId: 'due', userId: `u${n}`, expiresAt: new Date(Date.now() + 60_000).toISOString() })).status).toBe(201);
          raws.push(raw);
        }
      }
      const kept = rawToken('kept');
      expect((await register(orgs[0] as string, { token: kept, type: 'access', appId: 'due', userId: 'kept' })).status).toBe(201);
      const job = await call('requestRevocation', { claims: as(orgs[0] as string), path: { appId: 'due' }, json: { userIds: ['kept'], runAt: new Date(Date.now() + 60_000).toISOString() } });
      expect(job.status).toBe(202);

      // As an older version left them: in the shared partitions, and no marker.
      const items = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'begins_with(#pk, :own)', ExpressionAttributeNames: { '#pk': gsi4.partitionKey }, ExpressionAttributeValues: { ':own': 'DUE#ORG#org-migrate-due-' } }))).Items ?? [];
      expect(items.length).toBe(7);
      for (const item of items) {
        const shared = String(item[gsi4.partitionKey]).endsWith('#JOBS') ? 'DUE#JOBS' : `DUE#TOKENS#${String(item[gsi4.partitionKey]).split('#').at(-1)}`;
        await db.send(new UpdateCommand({ TableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: 'SET #pk = :shared', ExpressionAttributeNames: { '#pk': gsi4.partitionKey }, ExpressionAttributeValues: { ':shared': shared } }));
      }
      const markers = (await db.send(new ScanCommand({ TableName, ConsistentRead: true, FilterExpression: 'entity = :m', ExpressionAttributeValues: { ':m': 'DueMarker' } }))).Items ?? [];
      for (const marker of markers.filter((m) => orgs.includes(m.orgId as string))) await db.send(new DeleteCommand({ TableName, Key: { pk: marker.pk, sk: marker.sk } }));
      expect([...(await orgsWithDueWork('~')).keys()].filter((o) => orgs.includes(o))).toEqual([]);

      // The migration runs as its own process, which has written no marker yet.
      vi.resetModules();
      const { moveDueEntriesToOrgs } = await import('../../shared/db/migrations.js');
      // Pages of one: every partition holding an entry stops after its first (the tokens' partitions come from a hash of random tokens).
      const first = await moveDueEntriesToOrgs({ pagesPerSegment: 1, pageSize: 1 });
      expect(first.complete).toBe(false);
      expect(first.updated).toBeGreaterThan(0);
      const rest = await moveDueEntriesToOrgs();
      expect(rest.complete).toBe(true);
      expect(first.updated + rest.updated).toBe(7);
      expect((await moveDueEntriesToOrgs()).updated).toBe(0);
      expect([...(await orgsWithDueWork('~')).keys()].filter((o) => orgs.includes(o)).sort()).toEqual(orgs);

      vi.setSystemTime(Date.now() + 120_000);
      const { handler } = await import('../../functions/jobs/sweep.js');
      await handler({}, lambdaContext('sweep'));
      await drainQueue();
      expect((await tokensOf(orgs)).length).toBe(0); // every expired token purged; the kept one's job revoked it
      expect((await introspect(orgs[0] as string, kept)).body).toEqual({ active: false });
      expect((await call('getRevocationJob', { claims: as(orgs[0] as string), path: { jobId: job.body.jobId as string } })).body.status).toBe('succeeded');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('npm run migrate: the users searches for links written before them', () => {
  it('gives every link its search keys and its user\'s directory entry with its row\'s name, resumes where it stopped, changes nothing twice, and the searches find the users', { timeout: 60_000 }, async () => {
    const searchOrg = 'org-migrate-links';
    const admin = as(searchOrg);
    for (const appId of ['mail', 'crm']) await createApp(searchOrg, appId);
    for (const [appId, userId, userName] of [['mail', 'ada', 'Ada Lovelace'], ['crm', 'ada', 'Ada Lovelace'], ['mail', 'bob', 'Bobby'], ['crm', 'cy', undefined]] as const) {
      expect((await register(searchOrg, { token: rawToken(userId), type: 'access', appId, userId, ...(userName ? { userName } : {}) })).status).toBe(201);
    }
    const search = async (q?: string) => ((await call('listUsers', { claims: admin, query: q ? { q } : {} })).body.items ?? []).map((u) => [u.userId, u.appCount]);
    const searchApp = async (q: string) => ((await call('listAppUsers', { claims: admin, path: { appId: 'mail' }, query: { q } })).body.items ?? []).map((u) => u.userId);
    const before = [await search(), await search('bobby'), await searchApp('ada l')];
    expect(before).toEqual([[['ada', 2], ['bob', 1], ['cy', 1]], [['bob', 1]], ['ada']]);

    // As an older version stored them: links with no search keys and no name, no directory entries.
    const ofOrg = async (entity: string) => (await db.send(new ScanCommand({
      TableName, ConsistentRead: true, FilterExpression: 'orgId = :o AND entity = :e', ExpressionAttributeValues: { ':o': searchOrg, ':e': entity },
    }))).Items ?? [];
    const links = await ofOrg('UserAppLink');
    expect(links).toHaveLength(4);
    const searchAttributes = ['gsi3', 'gsi4'].flatMap((index) => [`${index}pk`, `${index}sk`]);
    for (const link of links) {
      await db.send(new UpdateCommand({ TableName, Key: { pk: link.pk, sk: link.sk }, UpdateExpression: `REMOVE userName, ${searchAttributes.join(', ')}` }));
    }
    const entries = await ofOrg('UserDirectory');
    expect(entries).toHaveLength(3);
    for (const entry of entries) await db.send(new DeleteCommand({ TableName, Key: { pk: entry.pk, sk: entry.sk } }));
    expect([await search(), await search('bobby'), await searchApp('ada l')]).toEqual([[], [], []]);

    const first = await giveLinksSearchKeys({ pagesPerSegment: 1, pageSize: 1 });
    const rest = await giveLinksSearchKeys();
    expect(rest.complete).toBe(true);
    expect(first.updated + rest.updated).toBeGreaterThanOrEqual(4);
    expect((await giveLinksSearchKeys()).updated).toBe(0);
    expect([await search(), await search('bobby'), await searchApp('ada l')]).toEqual(before);
  });
});

const tokensOf = async (orgs: string[]) => ((await db.send(new ScanCommand({
  TableName, ConsistentRead: true, FilterExpression: 'entity = :e', ExpressionAttributeValues: { ':e': 'Token' },
}))).Items ?? []).filter((t) => orgs.includes(t.orgId as string));
