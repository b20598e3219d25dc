/**
 * The idempotency-key entity: a used `Idempotency-Key` (by its hash) pointing at the job it
 * created and the hash of the request it came with; DynamoDB's TTL removes it after a day.
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { getItem, itemOf, type Key } from './requests.js';
import { orgPrefix, table } from './table.js';
import { putWrite, type Write } from './unit-of-work.js';

const KEPT_SECONDS = 86_400;

export const idempotencyKeys = {
  key: (orgId: string, keyHash: string): Key => ({ pk: `${orgPrefix(orgId)}#IDEMPOTENCY#${keyHash}`, sk: 'IDEMPOTENCY' }),
};

/** Remembers an Idempotency-Key for a day, in the transaction that creates its job (only if it is new). */
export function rememberKeyWrite(orgId: string, keyHash: string, jobId: string, requestHash: string, now: number): Write {
  return putWrite(itemOf('IdempotencyKey', idempotencyKeys.key(orgId, keyHash), { orgId, jobId, requestHash }, {
    [table.ttlAttribute]: Math.floor(now / 1000) + KEPT_SECONDS,
  }), { expression: 'attribute_not_exists(pk)' });
}

const toUsedKey = recordReader('IdempotencyKey', () => ({ jobId: v.string(), requestHash: v.string() }), (k) => ({ jobId: k.jobId as string, requestHash: k.requestHash as string }));

export async function getIdempotencyKey(orgId: string, keyHash: string): Promise<{ jobId: string; requestHash: string } | undefined> {
  return toUsedKey(await getItem(idempotencyKeys.key(orgId, keyHash)));
}
