import { vi } from 'vitest';

export type LogLine = Record<string, unknown>;

/**
 * Collects the service's structured log lines (written to stdout) from now until the spy is
 * restored (`vi.restoreAllMocks()` or the returned `stop`), and still prints them.
 */
export function captureLogLines(): { lines: LogLine[]; stop: () => void } {
  const lines: LogLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n').filter((l) => l.startsWith('{"level"'))) lines.push(JSON.parse(line) as LogLine);
    return write(chunk, ...(rest as []));
  });
  return { lines, stop: () => spy.mockRestore() };
}
