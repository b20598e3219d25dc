/**
 * What EventBridge Scheduler does for the sweep: runs `task` every `intervalMs`, first right
 * away. A run that takes longer than the interval delays the next one instead of overlapping it.
 */
export function startTimer(intervalMs: number, task: () => Promise<unknown>, onError: (error: unknown) => void) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = task().then(() => undefined, onError).finally(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
