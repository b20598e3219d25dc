/**
 * Backfills of what an older version did not store (`npm run migrate`). Each one is resumable (it
 * keeps its cursors in a migration-state item, not tenant data, after every page) and idempotent
 * (every write is conditional on the item still needing it), so it can be killed and run again.
 */
import pMap from 'p-map';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from './client.js';
import { getItem, conditionalUpdate, type Item, type Key } from './requests.js';
import { entityAttribute, table, type Entity } from './table.js';
import { tokenKeys } from './token.js';

const { gsi6 } = table.indexes;
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

/**
 * Lists every live token in the app's token index (gsi6) that was registered before the index
 * existed: a parallel Scan of the table for token items without gsi6 keys, each given them in an
 * UpdateItem only if it is still a live token without them (a tombstone or a deleted token is
 * left as it is). `pagesPerSegment` stops each segment early (to resume later); `pageSize` sets the
 * items each Scan page reads.
 */
export async function backfillAppTokenIndex(options: { pagesPerSegment?: number; pageSize?: number } = {}): Promise<MigrationReport> {
  const migration = 'app-token-index';
  const report: MigrationReport = { migration, scanned: 0, updated: 0, complete: false };
  const state = await getItem(stateKey(migration));
  const cursors: Cursors = Object.fromEntries(Array.from({ length: SEGMENTS }, (_, n) => [n, (state?.[cursorAttribute(n)] ?? null) as Cursors[number]]));
  await Promise.all(Array.from({ length: SEGMENTS }, async (_, segment) => {
    for (let pages = 0; cursors[segment] !== 'done' && pages !== options.pagesPerSegment; pages++) {
      const out = await db.send(new ScanCommand({
        TableName, Segment: segment, TotalSegments: SEGMENTS, Limit: options.pageSize ?? PAGE, ConsistentRead: true,
        ExclusiveStartKey: (cursors[segment] ?? undefined),
        FilterExpression: '#entity = :token AND attribute_not_exists(#indexed)',
        ProjectionExpression: 'pk, sk, orgId, appId, userId, appEpoch',
        ExpressionAttributeNames: { '#entity': entityAttribute, '#indexed': gsi6.partitionKey },
        ExpressionAttributeValues: { ':token': 'Token' satisfies Entity },
      }));
      report.scanned += out.ScannedCount ?? 0;
      const updated = await pMap(out.Items ?? [], (item) => conditionalUpdate({
        Key: { pk: item.pk as string, sk: item.sk as string },
        UpdateExpression: 'SET #pk = :pk, #sk = :sk',
        ConditionExpression: '#entity = :token AND attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': gsi6.partitionKey, '#sk': gsi6.sortKey, '#entity': entityAttribute },
        ExpressionAttributeValues: { ':pk': indexKeys(item)[gsi6.partitionKey], ':sk': indexKeys(item)[gsi6.sortKey], ':token': 'Token' satisfies Entity },
      }), { concurrency: WRITE_CONCURRENCY });
      report.updated += updated.filter(Boolean).length;
      cursors[segment] = out.LastEvaluatedKey ?? 'done';
      await saveCursor(migration, segment, cursors[segment]);
    }
  }));
  report.complete = Object.values(cursors).every((c) => c === 'done');
  return report;
}

/** Saves one segment's cursor (each segment writes its own attribute, so they never overwrite each other). */
async function saveCursor(migration: string, segment: number, cursor: Cursors[number]): Promise<void> {
  await conditionalUpdate({
    Key: stateKey(migration),
    UpdateExpression: 'SET #entity = :entity, #cursor = :cursor',
    ExpressionAttributeNames: { '#entity': entityAttribute, '#cursor': cursorAttribute(segment) },
    ExpressionAttributeValues: { ':entity': 'MigrationState' satisfies Entity, ':cursor': cursor },
  });
}
