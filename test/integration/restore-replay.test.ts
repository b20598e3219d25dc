import { DescribeTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { db, TableName } from '../../shared/db/client.js';
import { loggedChange, revocationLogFilters } from '../../shared/db/revocation-log.js';
import { chunk } from '../../shared/chunk.js';
import { copyRestoredTable } from '../../shared/db/table-copy.js';
import { getIssuerByUrl } from '../../shared/db/issuer.js';
import { ensureTable } from '../../local/services.js';
import { reconcile } from '../../shared/domain/reconcile.js';
import { replayRevocationLog } from '../../shared/domain/restore-replay.js';
import { as, call, createApp, introspect, rawToken, register } from '../support/api.js';
import { drainQueue } from '../support/queue.js';

const streams = new DynamoDBStreamsClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'us-east-1' });
let streamArn: string;

/** Every record the table's stream holds now (DynamoDB Local keeps one shard per table). */
async function streamRecords(): Promise<_Record[]> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      if (!page.Records?.length) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/**
 * A record as the EventBridge Pipe hands it to Firehose: JSON, the approximate time in epoch
 * seconds. (The streams client reads an empty map attribute, at any depth, as `{}`; on the wire it is `{"M":{}}`.)
 */
type Attribute = { M?: Record<string, Attribute>; L?: Attribute[] } & Record<string, unknown>;
const onTheWire = (attribute: Attribute): Attribute => (Object.keys(attribute).length === 0 ? { M: {} }
  : attribute.M ? { M: Object.fromEntries(Object.entries(attribute.M).map(([name, inner]) => [name, onTheWire(inner)])) }
  : attribute.L ? { L: attribute.L.map(onTheWire) } : attribute);
const asPipeEvent = (r: _Record) => JSON.stringify(
  { ...r, dynamodb: { ...r.dynamodb, ApproximateCreationDateTime: (r.dynamodb?.ApproximateCreationDateTime as Date).getTime() / 1000 } },
  (key, value: unknown) => ((key === 'NewImage' || key === 'OldImage') && value && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).map(([name, attribute]) => [name, onTheWire(attribute as Attribute)]))
    : value),
);

/** EventBridge's matching for the patterns the log uses: every key of the pattern present, a list naming the allowed values. */
function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.includes(value);
  if (typeof pattern !== 'object' || pattern === null || typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, inner]) => matches(inner, (value as Record<string, unknown>)[key]));
}
const kept = (line: string) => revocationLogFilters.some((pattern) => matches(pattern, JSON.parse(line)));

/** Every item of the table, as a point-in-time restore would bring it back. */
async function snapshot(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName, ExclusiveStartKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** What AWS's point-in-time restore makes: a new table holding the items as they were. */
async function restoredTable(items: Record<string, unknown>[]): Promise<string> {
  const name = `${TableName}-restored`;
  await ensureTable(process.env.DYNAMODB_ENDPOINT as string, 'us-east-1', name);
  for (const part of chunk(items, 25)) await db.send(new BatchWriteCommand({ RequestItems: { [name]: part.map((Item) => ({ PutRequest: { Item } })) } }));
  return name;
}

const active = async (org: string, token: string) => (await introspect(org, token)).body.active;
/** The resource server's live client secrets, as its GET lists them (introspection would cache the declaration for 30 s). */
const liveSecrets = async () => ((await call('getResourceServer', { claims: as('org-restore'), path: { sub: 'orders-api' } })).body.secrets as unknown[]).length;
const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

beforeAll(async () => {
  await db.send(new UpdateTableCommand({ TableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }));
  streamArn = (await db.send(new DescribeTableCommand({ TableName }))).Table?.LatestStreamArn as string;
});

describe('restoring the table to a point in time', () => {
  const org = 'org-restore';

  it('brings revoked tokens back until the revocation log is replayed; the replay revokes them again, exactly, and a second run changes nothing', { timeout: 120_000 }, async () => {
    await createApp(org, 'mail');
    await createApp(org, 'crm');
    const [adaAccess, adaRefresh, adaChild, adaRotated, bob, cyd, dan, later] = ['ada-a', 'ada-r', 'ada-c', 'ada-r2', 'bob', 'cyd', 'dan', 'later'].map(rawToken) as [string, string, string, string, string, string, string, string];
    expect((await register(org, { token: adaAccess, type: 'access', appId: 'mail', userId: 'ada' })).status).toBe(201);
    expect((await register(org, { tokens: [{ token: adaRefresh, type: 'refresh', appId: 'mail', userId: 'ada' }, { token: adaChild, type: 'access', appId: 'mail', userId: 'ada', refreshToken: adaRefresh }] })).status).toBe(201);
    for (const [token, appId, userId] of [[bob, 'mail', 'bob'], [cyd, 'mail', 'cyd'], [dan, 'crm', 'dan']] as const) {
      expect((await register(org, { token, type: 'access', appId, userId })).status).toBe(201);
    }
    expect((await call('declareResourceServer', { claims: as(org), path: { sub: 'orders-api' }, json: { name: 'Orders', audience: 'https://orders.example' } })).status).toBe(201);
    const secret = (await call('createClientSecret', { claims: as(org), path: { sub: 'orders-api' } })).body.clientSecret as string;
    const adaAccessId = (await introspect(org, adaAccess)).body;
    expect(adaAccessId.active).toBe(true);
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduledBefore = await call('requestRevocation', { claims: as(org), path: { appId: 'mail' }, json: { userIds: ['cyd'], runAt } });
    expect(scheduledBefore.status).toBe(202);
    const pointInTime = await snapshot();
    const logStart = (await streamRecords()).length;

    // After the restore point: one token by id, a rotation whose successor is revoked by RFC 7009
    // (the grant with it), a value revoked before anyone registered it, a user's Revoke, an app's
    // Revoke all, a resource server's secrets ended.
    const adaTokens = (await call('listUserTokens', { claims: as(org), path: { appId: 'mail', userId: 'ada' } })).body.items as { tokenId: string; type: string; refreshTokenId: string | null }[];
    const adaAccessTokenId = adaTokens.find((t) => t.type === 'access' && t.refreshTokenId === null)?.tokenId as string;
    expect((await call('revokeToken', { claims: as(org), path: { appId: 'mail', userId: 'ada', tokenId: adaAccessTokenId } })).status).toBe(204);
    expect((await register(org, { token: adaRotated, type: 'refresh', appId: 'mail', userId: 'ada', previousRefreshToken: adaRefresh })).status).toBe(201);
    expect((await call('revoke', { claims: as(org), form: { token: adaRotated } })).status).toBe(200);
    expect((await call('revoke', { claims: as(org), form: { token: later } })).status).toBe(200);
    expect((await call('revokeUserTokens', { claims: as(org), path: { appId: 'mail', userId: 'bob' } })).status).toBe(202);
    expect((await call('requestRevocation', { claims: as(org), path: { appId: 'crm' }, json: { all: true } })).status).toBe(202);
    expect((await call('revokeClientSecrets', { claims: as(org), path: { sub: 'orders-api' } })).status).toBe(204);
    // Revocations scheduled before and after the restore point, cancelled since: none to run.
    expect((await call('cancelRevocationJob', { claims: as(org), path: { jobId: scheduledBefore.body.jobId as string } })).status).toBe(200);
    const scheduled = await call('requestRevocation', { claims: as(org), path: { appId: 'mail' }, json: { userIds: ['cyd'], runAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(scheduled.status).toBe(202);
    expect((await call('cancelRevocationJob', { claims: as(org), path: { jobId: scheduled.body.jobId as string } })).status).toBe(200);
    await drainQueue();
    const log = (await streamRecords()).slice(logStart).map(asPipeEvent).filter(kept);

    // The runbook: AWS restores into a new table; its items are copied back into the service's.
    const copied = await copyRestoredTable(await restoredTable(pointInTime));
    expect(copied).toEqual({ written: pointInTime.length, deleted: expect.any(Number) as number });
    expect(await snapshot()).toEqual(expect.arrayContaining(pointInTime));
    // Exactly what the restored table holds, but for the due markers written since (containers trust those until their buckets end).
    const markersSince = (await snapshot()).filter((item) => item.entity === 'DueMarker' && !pointInTime.some((p) => p.pk === item.pk && p.sk === item.sk));
    expect((await snapshot()).length).toBe(pointInTime.length + markersSince.length);
    // What the restore brought back: every one of those revocations is undone.
    for (const token of [adaAccess, adaRefresh, adaChild, bob, dan]) expect(await active(org, token)).toBe(true);
    expect(await liveSecrets()).toBe(1);

    const report = await replayRevocationLog(log.map((line) => loggedChange(line)).filter((c) => c !== undefined), Date.now());
    // The jobs go first: bob's and dan's tokens are revoked by their watermarks, only ada's by its tombstone.
    expect(report).toMatchObject({ tokensRevoked: 1, revocationsRemembered: 2, grantsRevoked: 1, jobsReapplied: 2, jobsDeferred: 0, resourceServersRestored: 1 });
    expect(report.auditEventsRestored).toBeGreaterThanOrEqual(6);
    await drainQueue();

    for (const token of [adaAccess, adaRefresh, adaChild, adaRotated, bob, dan, later]) expect(await active(org, token), token.split('-')[0]).toBe(false);
    expect(await active(org, cyd)).toBe(true);
    const replayScheduled = (await call('listRevocationJobs', { claims: as(org), query: { status: 'scheduled' } })).body.items as unknown[];
    expect(replayScheduled).toEqual([]);
    for (const token of [adaAccess, adaRotated, later]) {
      expect((await register(org, { token, type: token === adaRotated ? 'refresh' : 'access', appId: 'mail', userId: 'ada' })).body.type).toMatch(/token-revoked$/);
    }
    expect(await liveSecrets()).toBe(0);
    expect((await call('introspect', { headers: { authorization: basic('orders-api', secret) }, form: { token: cyd } })).status).toBe(401);
    // Counts exact once the re-applied jobs finished: only cyd's token is left.
    const mail = (await call('getApp', { claims: as(org), path: { appId: 'mail' } })).body;
    expect([mail.userCount, mail.activeTokenCount]).toEqual([1, 1]);
    expect((await call('getApp', { claims: as(org), path: { appId: 'crm' } })).body.activeTokenCount).toBe(0);
    for (const appId of ['mail', 'crm']) {
      const check = await reconcile(org, appId, { repair: false });
      const counted = appId === 'mail' ? 1 : 0;
      expect([check?.userDrift, check?.appDrift, check?.stragglersDeleted], appId).toEqual([[], { userCount: [counted, counted], activeTokenCount: [counted, counted] }, 0]);
    }
    // The audit trail of what happened after the restore point is back, and the replay's own is there.
    const actions = ((await call('listAuditEvents', { claims: as(org), query: { limit: '100' } })).body.items as { action: string; actor: { sub: string } }[]);
    expect(actions.filter((e) => e.actor.sub !== 'restore-replay').map((e) => e.action)).toEqual(expect.arrayContaining(['token.revoked', 'revocation.requested', 'resource-server.changed']));
    expect(actions.some((e) => e.actor.sub === 'restore-replay' && e.action === 'revocation.requested')).toBe(true);

    // A token bob gets after the replay is his: running the replay again revokes nothing more.
    const bobAgain = rawToken('bob-again');
    expect((await register(org, { token: bobAgain, type: 'access', appId: 'mail', userId: 'bob' })).status).toBe(201);
    const again = await replayRevocationLog(log.map((line) => loggedChange(line)).filter((c) => c !== undefined), Date.now());
    expect(again).toMatchObject({ tokensRevoked: 0, revocationsRemembered: 0, grantsRevoked: 0, jobsReapplied: 0, jobsCreated: [], resourceServersRestored: 0, auditEventsRestored: 0 });
    await drainQueue();
    expect(await active(org, bobAgain)).toBe(true);
  });

  it('re-applies an offboarding, a user\'s block and an erasure made since the restore point', { timeout: 60_000 }, async () => {
    const people = 'org-restore-people';
    for (const appId of ['mail', 'crm']) await createApp(people, appId);
    const [mail, crm, other] = [rawToken('gail-m'), rawToken('gail-c'), rawToken('hal')];
    expect((await register(people, { token: mail, type: 'access', appId: 'mail', userId: 'gail', userName: 'Gail Gone' })).status).toBe(201);
    expect((await register(people, { token: crm, type: 'access', appId: 'crm', userId: 'gail', userName: 'Gail Gone' })).status).toBe(201);
    expect((await register(people, { token: other, type: 'access', appId: 'mail', userId: 'hal', userName: 'Hal Here' })).status).toBe(201);
    const pointInTime = await snapshot();
    const logStart = (await streamRecords()).length;

    expect((await call('offboardUser', { claims: as(people), path: { userId: 'gail' }, json: { block: true } })).status).toBe(202);
    expect((await call('blockUser', { claims: as(people), path: { userId: 'ivy' } })).status).toBe(200);
    expect((await call('erasePersonalData', { claims: as(people), path: { userId: 'hal' } })).status).toBe(202);
    await drainQueue();
    const log = (await streamRecords()).slice(logStart).map(asPipeEvent).filter(kept);

    await copyRestoredTable(await restoredTable(pointInTime));
    expect([await active(people, mail), await active(people, crm)]).toEqual([true, true]);
    const blocked = async (userId: string) => (await register(people, { token: rawToken(userId), type: 'access', appId: 'mail', userId })).status;

    const changes = log.map((line) => loggedChange(line)).filter((c) => c !== undefined);
    const report = await replayRevocationLog(changes, Date.now());
    expect(report).toMatchObject({ jobsReapplied: 2, jobsDeferred: 0, userBlocksRestored: 2 });
    await drainQueue();
    expect([await active(people, mail), await active(people, crm), await active(people, other)]).toEqual([false, false, true]);
    expect([await blocked('gail'), await blocked('ivy')]).toEqual([409, 409]);
    expect((await introspect(people, other)).body).not.toHaveProperty('username');
    const users = (await call('listAppUsers', { claims: as(people), path: { appId: 'mail' } })).body.items;
    expect(users).toEqual([expect.objectContaining({ userId: 'hal', userName: null })]);
    // Again: nothing more.
    expect(await replayRevocationLog(changes, Date.now())).toMatchObject({ jobsReapplied: 0, jobsCreated: [], userBlocksRestored: 0 });
  });

  it('brings back the trust of an issuer URL that another id took over after a distrust (versions grow across trusts of a URL)', { timeout: 60_000 }, async () => {
    const orgId = 'org-restore-issuer';
    const issuer = 'http://127.0.0.1:9/restore-issuer';
    const trust = (issuerId: string) => call('trustIssuer', { claims: as(orgId), path: { issuerId }, json: { issuer, jwksUri: `${issuer}/keys`, audiences: ['api'] } });
    expect((await trust('first')).status).toBe(201);
    const pointInTime = await snapshot();
    const logStart = (await streamRecords()).length;
    expect((await call('distrustIssuer', { claims: as(orgId), path: { issuerId: 'first' } })).status).toBe(204);
    const second = await trust('second');
    expect(second.status).toBe(201);
    expect(second.body.trustedSince).toEqual(expect.any(String));
    const log = (await streamRecords()).slice(logStart).map(asPipeEvent).filter(kept);

    await copyRestoredTable(await restoredTable(pointInTime));
    await replayRevocationLog(log.map((line) => loggedChange(line)).filter((c) => c !== undefined), Date.now());
    expect((await getIssuerByUrl(orgId, issuer))?.issuerId).toBe('second');
    expect((await call('getIssuer', { claims: as(orgId), path: { issuerId: 'first' } })).status).toBe(404);
    expect((await call('distrustIssuer', { claims: as(orgId), path: { issuerId: 'second' } })).status).toBe(204);
    expect(await getIssuerByUrl(orgId, issuer)).toBeUndefined();
  });
});
