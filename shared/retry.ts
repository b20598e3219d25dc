/**
 * The one way the service tries again: optimistic read-modify-write loops, unprocessed batch
 * items, queue sends and transaction conflicts all go through `retrying`.
 */

/** How many times an attempt runs before its caller gets the failure. */
export const MAX_ATTEMPTS = 8;

/** What an attempt returns to be run again (after a backoff). */
export const RETRY: unique symbol = Symbol('retry');
export type Attempt<T> = T | typeof RETRY;

/** Exponential backoff with full jitter, capped at 1 s. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(1000, 25 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (numbered from 0) until it returns something other than `RETRY`, waiting with
 * backoff and jitter before each new try. After `attempts` tries, `exhausted` decides: the error
 * it gives is thrown, anything else is the result.
 */
export async function retrying<T>(attempt: (n: number) => Promise<Attempt<T>>, exhausted: () => Error | T, attempts = MAX_ATTEMPTS): Promise<T> {
  for (let n = 0; n < attempts; n++) {
    if (n > 0) await backoff(n);
    const result = await attempt(n);
    if (result !== RETRY) return result;
  }
  const last = exhausted();
  if (last instanceof Error) throw last;
  return last;
}

/**
 * Errors that say "try again in a moment" and that the AWS SDK's own retries leave to the caller:
 * a write that met another transaction in progress (TransactionConflictException), and a
 * transaction cancelled only because of such a conflict (no condition failed). Sending the same
 * request again is safe: nothing of it was written.
 */
export function isTransientConflict(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TransactionConflictException') return true;
  if (error.name !== 'TransactionCanceledException') return false;
  const codes = ((error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  return codes.includes('TransactionConflict') && codes.every((code) => code === 'None' || code === 'TransactionConflict');
}
