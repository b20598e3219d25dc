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

/**
 * Remembers an Idempotency-Key for a day, in the transaction that creates its job: only if it is
 * new, or its day is over (DynamoDB's TTL deletes items up to about two days late).
 */
export function rememberKeyWrite(orgId: string, keyHash: string, jobId: string, requestHash: string, now: number): Write {
  const keptUntil = Math.floor(now / 1000) + KEPT_SECONDS;
  return putWrite(itemOf('IdempotencyKey', idempotencyKeys.key(orgId, keyHash), { orgId, jobId, requestHash, keptUntil }, { [table.ttlAttribute]: keptUntil }), { expression: 'attribute_not_exists(pk) OR #ttl <= :now', names: { '#ttl': table.ttlAttribute }, values: { ':now': Math.floor(now / 1000) } });
}

const toUsedKey = /* @__PURE__ */ recordReader('IdempotencyKey', () => ({ jobId: v.string(), requestHash: v.string(), keptUntil: v.optional(v.number()) }), (k) => ({
  jobId: k.jobId as string, requestHash: k.requestHash as string, keptUntil: k.keptUntil as number | undefined,
}));

/** The job a key made, while the key is kept (not past its day, whether or not TTL deleted it yet). */
export async function getIdempotencyKey(orgId: string, keyHash: string, now: number): Promise<{ jobId: string; requestHash: string } | undefined> {
  const item = await getItem(idempotencyKeys.key(orgId, keyHash));
  const used = toUsedKey(item);
  // Keys stored before `keptUntil` was carry only their TTL, which is the same time.
  const until = (used?.keptUntil ?? Number(item?.[table.ttlAttribute])) * 1000;
  return used && until > now ? { jobId: used.jobId, requestHash: used.requestHash } : undefined;
}
