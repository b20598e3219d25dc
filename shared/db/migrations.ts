/**
 * Backfills of what an older version did not store (`npm run migrate`). Each one is resumable (it
 * keeps its cursors in a migration-state item, not tenant data, after every page) and idempotent
 * (every write is conditional on the item still needing it), so it can be killed and run again.
 */
import pMap from 'p-map';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { getItem, conditionalUpdate, type Item, type Key } from './requests.js';
import { LEGACY_USER_APPS_INDEX, listLegacyLink, relistLegacyRow } from './app-user.js';
import { commit } from './unit-of-work.js';
import { retrying, RETRY } from '../retry.js';
import { APP_SHARDS, entityAttribute, table, type Entity } from './table.js';
import { appKeys } from './app.js';
import { tokenKeys } from './token.js';
import { dueKeys, entryKey, queryDue } from './due-index.js';
import { indexLegacyEvent } from './audit-event.js';

const { gsi3, gsi4, gsi6 } = table.indexes;
const stateKey = (migration: string): Key => ({ pk: 'MIGRATION', sk: migration });
/** Segments of the parallel Scan; each keeps its own cursor. */
const SEGMENTS = 4;
/** Items read per Scan page (before the filter), unless told. */
const PAGE = 1000;
/** Token items updated at once per segment. */
const WRITE_CONCURRENCY = 16;

export interface MigrationReport {
  migration: string;
  /** Items the Scan read in this run, and token items given their index keys. */
  scanned: number;
  updated: number;
  /** Whether every segment has reached the end of the table (false: stopped early; run it again to resume). */
  complete: boolean;
}

/** Each segment's cursor: where its Scan resumes; 'done' once it reached the end. */
type Cursors = Record<number, Record<string, unknown> | 'done' | null>;
const cursorAttribute = (segment: number) => `cursor${segment}`;
const indexKeys = (item: Item) => tokenKeys.ofAppEpoch(item.orgId as string, item.appId as string, (item.appEpoch as number | undefined) ?? 0, item.userId as string);

/** What a migration reads: the items a filtered, parallel Scan finds, and what it does to each (true: it changed the item). */
interface Migration {
  name: string;
  filter: string;
  /** Only these attributes (default: the whole item). */
  projection?: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
  migrate: (item: Item) => Promise<boolean>;
}

export interface MigrationOptions {
  /** Stops each Scan segment after this many pages (to resume later). */
  pagesPerSegment?: number;
  /** Items each Scan page reads (before the filter). */
  pageSize?: number;
}

/** Runs a migration from where its last run stopped, saving each segment's cursor after every page. */
async function runMigration(migration: Migration, options: MigrationOptions): Promise<MigrationReport> {
  const report: MigrationReport = { migration: migration.name, scanned: 0, updated: 0, complete: false };
  const state = await getItem(stateKey(migration.name));
  const cursors: Cursors = Object.fromEntries(Array.from({ length: SEGMENTS }, (_, n) => [n, (state?.[cursorAttribute(n)] ?? null) as Cursors[number]]));
  await Promise.all(Array.from({ length: SEGMENTS }, async (_, segment) => {
    for (let pages = 0; cursors[segment] !== 'done' && pages !== options.pagesPerSegment; pages++) {
      const out = await db.send(new ScanCommand({
        TableName, Segment: segment, TotalSegments: SEGMENTS, Limit: options.pageSize ?? PAGE, ConsistentRead: true,
        ExclusiveStartKey: (cursors[segment] ?? undefined),
        FilterExpression: migration.filter, ...(migration.projection ? { ProjectionExpression: migration.projection } : {}),
        ExpressionAttributeNames: migration.names, ExpressionAttributeValues: migration.values,
      }));
      report.scanned += out.ScannedCount ?? 0;
      const updated = await pMap(out.Items ?? [], migration.migrate, { concurrency: WRITE_CONCURRENCY });
      report.updated += updated.filter(Boolean).length;
      cursors[segment] = out.LastEvaluatedKey ?? 'done';
      await saveCursor(migration.name, segment, cursors[segment]);
    }
  }));
  report.complete = Object.values(cursors).every((c) => c === 'done');
  return report;
}

/**
 * Lists every live token in the app's token index (gsi6) that was registered before the index
 * existed: token items without gsi6 keys, each given them in an UpdateItem only if it is still a
 * live token without them (a tombstone or a deleted token is left as it is).
 */
export function backfillAppTokenIndex(options: MigrationOptions = {}): Promise<MigrationReport> {
  return runMigration({
    name: 'app-token-index',
    filter: '#entity = :token AND attribute_not_exists(#indexed)',
    projection: 'pk, sk, orgId, appId, userId, appEpoch',
    names: { '#entity': entityAttribute, '#indexed': gsi6.partitionKey },
    values: { ':token': 'Token' satisfies Entity },
    migrate: (item) => conditionalUpdate({
      Key: { pk: item.pk as string, sk: item.sk as string },
      UpdateExpression: 'SET #pk = :pk, #sk = :sk',
      ConditionExpression: '#entity = :token AND attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': gsi6.partitionKey, '#sk': gsi6.sortKey, '#entity': entityAttribute },
      ExpressionAttributeValues: { ':pk': indexKeys(item)[gsi6.partitionKey], ':sk': indexKeys(item)[gsi6.sortKey], ':token': 'Token' satisfies Entity },
    }),
  }, options);
}

/**
 * Moves user rows an older version listed to the epoch-keyed lists: rows that still carry the
 * old user's-apps index keys get their active-user keys under the epoch they count under and a
 * link among the user's apps, in one transaction pinned to the row as read (read again if it
 * moved meanwhile). Until a row is moved, the lists do not show it.
 */
export function relistUserRows(options: MigrationOptions = {}): Promise<MigrationReport> {
  return runMigration({
    name: 'user-lists-by-epoch',
    filter: '#entity = :user AND attribute_exists(#legacy)',
    projection: 'pk, sk',
    names: { '#entity': entityAttribute, '#legacy': LEGACY_USER_APPS_INDEX[0] },
    values: { ':user': 'AppUser' satisfies Entity },
    migrate: (item) => retrying(async () => {
      const row = await getItem({ pk: item.pk as string, sk: item.sk as string });
      const writes = row && relistLegacyRow(row);
      if (!writes) return false;
      return (await commit(writes)) || RETRY;
    }, () => new Error(`User row ${String(item.pk)} ${String(item.sk)} kept changing while it was moved; run the migration again`)),
  }, options);
}

/**
 * Gives the links an older version wrote their search keys (Usage by User's `q`) and their users
 * directory entries (GET /v1/users): by id and by their row's name. Until a link has them, the
 * org's users list does not show that app of the user, and the app's search does not find them.
 */
export function giveLinksSearchKeys(options: MigrationOptions = {}): Promise<MigrationReport> {
  return runMigration({
    name: 'user-search-keys',
    filter: '#entity = :link AND attribute_not_exists(#listed)',
    names: { '#entity': entityAttribute, '#listed': gsi3.partitionKey },
    values: { ':link': 'UserAppLink' satisfies Entity },
    migrate: listLegacyLink,
  }, options);
}

/**
 * Gives the audit events an older version wrote their index entries by actor (gsi4) and by
 * action (gsi6): until an event has them, the log's `?actor=` and single `?action=` filters do
 * not find it.
 */
export function indexAuditEvents(options: MigrationOptions = {}): Promise<MigrationReport> {
  return runMigration({
    name: 'audit-search-keys',
    filter: '#entity = :event AND attribute_not_exists(#byActor)',
    names: { '#entity': entityAttribute, '#byActor': gsi4.partitionKey },
    values: { ':event': 'AuditEvent' satisfies Entity },
    migrate: indexLegacyEvent,
  }, options);
}

/**
 * Gives every live token an older version registered (before grants) its grant: first each
 * refresh token a grant of its own id, holding what it counted; then each access token registered from a refresh token joins that one's grant (or,
 * when that refresh token is gone, counts on its own in a grant of its id). Each step is
 * `adoptLegacy` (shared/domain/grants.ts), pinned to the token as read and idempotent, the same
 * step registrations and revocations take when they meet such a token first. `adopt` is passed
 * in: the domain's step, which persistence does not import.
 */
export function adoptGrants(adopt: (item: Item) => Promise<boolean>, options: MigrationOptions = {}) {
  const withoutGrant = (type: 'refresh' | 'access', extra = '') => ({
    filter: `#entity = :token AND #type = :type AND attribute_not_exists(grantId)${extra}`,
    names: { '#entity': entityAttribute, '#type': 'type' },
    values: { ':token': 'Token' satisfies Entity, ':type': type },
    migrate: adopt,
  });
  return {
    refresh: () => runMigration({ name: 'grants-of-refresh-tokens', ...withoutGrant('refresh') }, options),
    access: () => runMigration({ name: 'grants-of-access-tokens', ...withoutGrant('access', ' AND attribute_exists(refreshTokenId)') }, options),
  };
}

/**
 * Copies each app's declared scopes onto its shards, which registration reads for its scope check
 * (an older version kept them on the row only): only onto a shard that has none yet, so a change
 * made since (which writes the row and every shard) is never overwritten.
 */
export function copyScopesToShards(options: MigrationOptions = {}): Promise<MigrationReport> {
  return runMigration({
    name: 'app-scopes-on-shards',
    filter: '#entity = :app AND size(scopes) > :none',
    projection: 'orgId, appId, scopes',
    names: { '#entity': entityAttribute },
    values: { ':app': 'App' satisfies Entity, ':none': 0 },
    migrate: async (item) => {
      const copied = await Promise.all(Array.from({ length: APP_SHARDS }, (_, shard) => conditionalUpdate({
        Key: appKeys.shard(item.orgId as string, item.appId as string, shard),
        UpdateExpression: 'SET scopes = :scopes',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(scopes)',
        ExpressionAttributeValues: { ':scopes': item.scopes },
      })));
      return copied.some(Boolean);
    },
  }, options);
}

/**
 * Moves the due entries an older version kept in partitions every org shared (`DUE#JOBS`,
 * `DUE#TOKENS#n`) to the org's own (due-index.ts), each with its org's due marker (written by the
 * write layer before the move): an UpdateItem per entry, only if it is still where it was read.
 * Reads the old partitions only, O(their entries), and needs no cursor: what moved has left them,
 * so a run that stops is resumed by running it again, and nothing is lost (an entry is in one
 * place or the other; until it moves, the sweep does not see it: it only waits).
 */
export async function moveDueEntriesToOrgs(options: MigrationOptions = {}): Promise<MigrationReport> {
  const report: MigrationReport = { migration: 'due-entries-by-org', scanned: 0, updated: 0, complete: true };
  await pMap(dueKeys.legacyPartitions, async (partition) => {
    let cursor: Record<string, string> | null = null;
    for (let pages = 0; ; pages++) {
      if (pages === options.pagesPerSegment) {
        report.complete = false;
        return;
      }
      const { entries, more } = await queryDue(partition, dueKeys.dueBy('~'), options.pageSize ?? PAGE, cursor);
      report.scanned += entries.length;
      const moved = await pMap(entries, (entry) => {
        const sortKey = String(entry[gsi4.sortKey]);
        const target = partition === 'DUE#JOBS'
          ? dueKeys.job(sortKey, dueKeys.parseJob(entry).orgId, '')
          : (({ orgId, appId, userId, lookupKey }) => dueKeys.token(sortKey, orgId, appId, userId, lookupKey))(dueKeys.parseToken(entry));
        return conditionalUpdate({
          Key: { pk: entry.pk as string, sk: entry.sk as string },
          UpdateExpression: 'SET #pk = :to, #sk = :sk',
          ConditionExpression: '#pk = :from AND #sk = :sk',
          ExpressionAttributeNames: { '#pk': gsi4.partitionKey, '#sk': gsi4.sortKey },
          ExpressionAttributeValues: { ':to': target[gsi4.partitionKey], ':from': partition, ':sk': sortKey },
        });
      }, { concurrency: WRITE_CONCURRENCY });
      report.updated += moved.filter(Boolean).length;
      // An entry that changed since it was read (a container of the older version moved it within the old partitions): the next run moves it.
      if (moved.includes(false)) report.complete = false;
      const last = entries.at(-1);
      if (!more || !last) return;
      cursor = entryKey(last);
    }
  });
  return report;
}

/** Every migration, in the order an upgrade runs them (`adopt`: see `adoptGrants`). */
export const migrationsWith = (adopt: (item: Item) => Promise<boolean>) => [
  moveDueEntriesToOrgs, backfillAppTokenIndex, relistUserRows, giveLinksSearchKeys, indexAuditEvents, copyScopesToShards,
  (options: MigrationOptions = {}) => adoptGrants(adopt, options).refresh(),
  (options: MigrationOptions = {}) => adoptGrants(adopt, options).access(),
];

/** Saves one segment's cursor (each segment writes its own attribute, so they never overwrite each other). */
async function saveCursor(migration: string, segment: number, cursor: Cursors[number]): Promise<void> {
  await conditionalUpdate({
    Key: stateKey(migration),
    UpdateExpression: 'SET #entity = :entity, #cursor = :cursor',
    ExpressionAttributeNames: { '#entity': entityAttribute, '#cursor': cursorAttribute(segment) },
    ExpressionAttributeValues: { ':entity': 'MigrationState' satisfies Entity, ':cursor': cursor },
  });
}
