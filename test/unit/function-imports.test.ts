import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** The modules a function's bundle holds, as esbuild resolves its imports. */
const inputsOf = (entry: string) => Object.keys(buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' }).metafile.inputs);

describe('what functions load', () => {
  it('health and not-found load neither the configuration nor the service secret (they are granted neither)', () => {
    for (const entry of ['functions/http/health.ts', 'functions/http/not-found.ts']) {
      const inputs = inputsOf(entry);
      expect(inputs.filter((i) => /shared\/(config|service-secret|secrets)\.ts$/.test(i)), entry).toEqual([]);
    }
  });
});
