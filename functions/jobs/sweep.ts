import type { Context } from 'aws-lambda';
import { runSweep, type SweepReport } from '../../shared/domain/sweep.js';
import { runInvocationHooks } from '../../shared/invocation-hooks.js';
import { logger } from '../../shared/logger.js';

/**
 * The scheduled sweep (EventBridge Scheduler, every few minutes; a timer under `npm start`).
 * The schedule's input is not used: the sweep finds its work in the due index.
 */
export async function handler(_event: unknown, context: Context): Promise<SweepReport> {
  return logger.invocation(context, async () => {
    await runInvocationHooks();
    return runSweep(Date.now());
  });
}
