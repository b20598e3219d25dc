import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { db, TableName } from '../../shared/db/client.js';
import { chunk } from '../../shared/chunk.js';
import { dueEntriesOfItem, ensureDueMarkers } from '../../shared/db/due-markers.js';
import { jobItem } from '../../shared/db/job.js';
import type { RevocationJob } from '../../shared/model.js';

/** A scheduled job as a script would have left it (the n-th of a batch), to store straight into the table. */
export const scheduledJob = (orgId: string, appId: string, n: number, runAt: string): RevocationJob => ({
  orgId, appId, jobId: `job_${Date.now().toString(36).padStart(10, '0')}${n.toString(16).padStart(12, '0')}`,
  target: { userIds: ['someone'] }, status: 'scheduled', runAt, createdAt: new Date().toISOString(), startedAt: null, finishedAt: null,
  requestedBy: 'script', reason: null, progress: { usersDone: 0, tokensRevoked: 0 }, reconciled: { userDrift: 0, stragglers: 0 }, error: null,
  appEpoch: null, userEpochs: {}, plannedBatches: 0, planCursor: null, planComplete: false, doneBatches: [], pass: 0, lastProgressAt: null,
});

/**
 * Stores items straight into the table (data as it was stored before a rule existed), in full
 * BatchWriteItem calls, with the due markers of their due entries (as the migration leaves them).
 */
export async function storeItems(items: Record<string, unknown>[]): Promise<void> {
  await ensureDueMarkers(items.flatMap(dueEntriesOfItem));
  for (const part of chunk(items, 25)) {
    await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: part.map((Item) => ({ PutRequest: { Item } })) } }));
  }
}

/** Stores jobs with their due entries at `dueAt` (their runAt unless told). */
export const storeJobs = (jobs: RevocationJob[], dueAt?: string) => storeItems(jobs.map((j) => jobItem(j, dueAt ?? (j.runAt as string))));
