/** Exponential backoff with full jitter, capped at 1 s. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(1000, 25 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How often a request that failed for a transient reason is sent again before its error is the caller's. */
export const TRANSIENT_ATTEMPTS = 8;

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
