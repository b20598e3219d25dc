import pMap from 'p-map';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dueEntriesOfItem, ensureDueMarkers } from '../shared/db/due-markers.js';
import { createHash } from 'node:crypto';
import { chunk } from '../shared/chunk.js';
import { activationWrites, appKeys, insertApp } from '../shared/db/app.js';
import { activeListings, appUserKeys, userAppLinkItem } from '../shared/db/app-user.js';
import { recordEvent } from '../shared/db/audit-event.js';
import { db, TableName } from '../shared/db/client.js';
import { itemOf } from '../shared/db/requests.js';
import { tokenItem } from '../shared/db/token.js';
import { commit } from '../shared/db/unit-of-work.js';
import { newEventId } from '../shared/ids.js';
import * as v from 'valibot';
import { newAppRecord } from '../shared/domain/apps.js';
import { createAppSchema } from '../shared/schemas/apps.js';
import type { Token } from '../shared/model.js';

/**
 * Writes an app with users × perUser access tokens straight into the table, in full
 * BatchWriteItem calls, exactly as registrations would have left it (token items with their
 * index keys, due keys when they expire, counted user rows listed and linked to the user's apps, the app listed as active with its counters on shard 0). Far
 * faster than registering them one by one; for benchmarks and tests only. `learn` is shown every
 * item written (the benchmark's capacity model). Returns the tokens'
 * lookup keys (derived from the app and user ids, so different apps never collide).
 */
export async function seedApp(orgId: string, appId: string, users: number, perUser: number, options: { expiresAt?: string; learn?: (items: Record<string, unknown>[]) => void } = {}): Promise<string[]> {
  const at = new Date().toISOString();
  await insertApp(
    newAppRecord(orgId, appId, v.parse(createAppSchema, { name: appId }), Date.parse(at)),
    [recordEvent({ orgId, eventId: newEventId(Date.now()), at, actor: { sub: 'seed', kind: 'system' }, action: 'app.created', appId, userId: null, tokenId: null, jobId: null, reason: null, details: {} })],
  );
  const items: Record<string, unknown>[] = [];
  const lookupKeys: string[] = [];
  const put = async (part: Record<string, unknown>[]) => {
    await ensureDueMarkers(part.flatMap(dueEntriesOfItem)); // as every write of the service does
    let request: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = { [TableName]: part.map((Item) => ({ PutRequest: { Item } })) };
    while (request && Object.keys(request).length) request = (await db.send(new BatchWriteCommand({ RequestItems: request }))).UnprocessedItems as typeof request;
  };
  /** Writes what is pending in full calls of 25, 8 at a time. */
  const flush = async (force = false) => {
    const ready = items.splice(0, force ? items.length : items.length - (items.length % 25));
    options.learn?.(ready);
    await pMap(chunk(ready, 25), put, { concurrency: 8 });
  };
  for (let u = 0; u < users; u++) {
    const userId = `user-${String(u).padStart(6, '0')}`;
    items.push(
      itemOf('AppUser', appUserKeys.row(orgId, appId, userId), { orgId, appId, userId, useCount: 0, activeTokenCount: perUser, revokeEpoch: 0, countEpoch: 0 }, activeListings({ orgId, appId, userId, lastUsedAt: null }, 0)),
      userAppLinkItem(orgId, appId, userId, 0, null),
    );
    for (let t = 0; t < perUser; t++) {
      const digest = createHash('sha256').update(`${appId}/${userId}/${t}`).digest();
      const token: Token = {
        orgId, appId, userId, lookupKey: digest.subarray(0, 16).toString('hex'), tokenId: digest.subarray(16, 32).toString('base64url').slice(0, 22),
        type: 'access', scopes: ['api'], issuedAt: at, audience: [], issuer: null, learnedFrom: null, cnf: null, expiresAt: options.expiresAt ?? null, presentableUntil: options.expiresAt ?? null, refreshTokenId: null, grantId: null, retiredAt: null, successorId: null, appEpoch: 0, userEpoch: 0, orgUserEpoch: 0, lastUsedAt: null, useCount: 0, childCount: 0, revokedAt: null, policyEnded: false,
        dueAt: options.expiresAt ?? null,
      };
      lookupKeys.push(token.lookupKey);
      items.push(tokenItem(token));
    }
    if (items.length >= 2000) await flush();
  }
  await flush(true);
  await db.send(new UpdateCommand({
    TableName, Key: appKeys.shard(orgId, appId, 0),
    UpdateExpression: 'ADD activeTokenCount :t, userCount :u',
    ExpressionAttributeValues: { ':t': users * perUser, ':u': users },
  }));
  await commit(activationWrites(orgId, appId, { except: -1 }));
  return lookupKeys;
}
