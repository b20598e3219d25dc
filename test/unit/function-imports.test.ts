import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { fallbackRoute, routes, type Route } from '../../shared/routes.js';

/** The modules a function's bundle holds, as esbuild resolves its imports. */
const inputsOf = (entry: string) => Object.keys(buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' }).metafile.inputs);

describe('what functions load', () => {
  it('functions without table access (health, the API document, not-found) load neither the configuration nor the service secret (they are granted neither)', () => {
    const keyless = [...Object.values(routes as Record<string, Route>), fallbackRoute].filter((r) => r.table === 'none').map((r) => `functions/http/${r.handler}.ts`);
    expect(keyless).toHaveLength(3);
    for (const entry of keyless) {
      const inputs = inputsOf(entry);
      expect(inputs.filter((i) => /shared\/(config|service-secret|secrets)\.ts$/.test(i)), entry).toEqual([]);
    }
  });

  it('a route\'s function holds the queue\'s client exactly when the route sends to the queue (the stack grants sending to those alone)', () => {
    for (const route of Object.values(routes as Record<string, Route>)) {
      const entry = `functions/http/${route.handler}.ts`;
      const holdsQueue = inputsOf(entry).some((i) => i.endsWith('shared/queue.ts'));
      expect(holdsQueue, entry).toBe(route.enqueues === true);
    }
  });
});

describe('what a function bundles of the route definitions', () => {
  const bundled = (entry: string) => buildSync({ entryPoints: [entry], bundle: true, minify: true, charset: 'utf8', platform: 'node', format: 'esm', write: false, logLevel: 'silent' }).outputFiles[0]?.text ?? '';

  it('is its own route\'s definition and no other (definitions are literals the bundler can drop)', () => {
    const all = Object.entries(routes as Record<string, Route>).filter(([name]) => name !== 'openapiDocument'); // that one bundles the whole document
    for (const [name, route] of all) {
      const text = bundled(`functions/http/${route.handler}.ts`);
      expect(text.includes(route.summary), `${name} holds its own definition`).toBe(true);
      expect(all.filter(([other]) => other !== name && text.includes(routes[other as keyof typeof routes].summary)).map(([other]) => other), name).toEqual([]);
    }
  });
});
