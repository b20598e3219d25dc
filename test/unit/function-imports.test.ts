import { readdirSync } from 'node:fs';
import { build, buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleAliases, functionBundling } from '../../infra/bundling.js';
import { fallbackRoute, preflightRoute, routes, type Route } from '../../shared/routes.js';

/** The modules a function's bundle holds, as esbuild resolves its imports. */
const inputsOf = (entry: string) => Object.keys(buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' }).metafile.inputs);

describe('what functions load', () => {
  it('functions without table access (health, the API document, not-found, cors-preflight) load neither the configuration nor the service secret (they are granted neither), nor the table\'s client or the per-org limiter', { timeout: 120_000 }, () => {
    const keyless = [...Object.values(routes as Record<string, Route>), fallbackRoute, preflightRoute].filter((r) => r.table === 'none').map((r) => `functions/http/${r.handler}.ts`);
    expect(keyless).toHaveLength(4);
    for (const entry of keyless) {
      const inputs = inputsOf(entry);
      expect(inputs.filter((i) => /shared\/(config|service-secret|secrets)\.ts$/.test(i)), entry).toEqual([]);
      expect(inputs.filter((i) => /@aws-sdk\/client-|shared\/domain\/rate-limits\.ts$/.test(i)), entry).toEqual([]);
    }
  });

  it('a route\'s function holds the queue\'s client exactly when the route sends to the queue (the stack grants sending to those alone)', { timeout: 120_000 }, () => {
    for (const route of Object.values(routes as Record<string, Route>)) {
      const entry = `functions/http/${route.handler}.ts`;
      const holdsQueue = inputsOf(entry).some((i) => i.endsWith('shared/queue.ts'));
      expect(holdsQueue, entry).toBe(route.enqueues === true);
    }
  });
});

describe('what a function bundles of the route definitions', () => {
  const bundled = (entry: string) => buildSync({ entryPoints: [entry], bundle: true, minify: true, charset: 'utf8', platform: 'node', format: 'esm', write: false, logLevel: 'silent' }).outputFiles[0]?.text ?? '';

  it('is its own route\'s definition and no other (definitions are literals the bundler can drop)', { timeout: 120_000 }, () => {
    const all = Object.entries(routes as Record<string, Route>).filter(([name]) => name !== 'openapiDocument'); // that one bundles the whole document
    for (const [name, route] of all) {
      const text = bundled(`functions/http/${route.handler}.ts`);
      expect(text.includes(route.summary), `${name} holds its own definition`).toBe(true);
      expect(all.filter(([other]) => other !== name && text.includes(routes[other as keyof typeof routes].summary)).map(([other]) => other), name).toEqual([]);
    }
  });
});

describe('what a function loads of node:stream/web', () => {
  const functionEntries = readdirSync('functions', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => `functions/${f}`);

  // Every function bundled (in parallel: one esbuild service), so it gets more than the default time on 2 cores.
  it('only middy\'s core imports it, and the bundles built with the aliases import it nowhere', { timeout: 120_000 }, async () => {
    let middyImportsIt = false; // so that the check below cannot pass by finding no importer at all
    const bundles = await Promise.all(functionEntries.map(async (entry) => ({ entry, ...(await build({
      entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent',
      mainFields: [...functionBundling.mainFields], alias: { ...bundleAliases },
    })) })));
    for (const { entry, metafile, outputFiles } of bundles) {
      const importers = Object.entries(metafile.inputs).filter(([, input]) => input.imports.some((i) => (i.original ?? i.path) === 'node:stream/web')).map(([path]) => path);
      expect(importers.every((path) => path.includes('node_modules/@middy/core/')), `${entry}: ${importers.join(', ')}`).toBe(true);
      expect(outputFiles[0]?.text.includes('node:stream/web'), entry).toBe(false);
      middyImportsIt ||= importers.length > 0;
    }
    expect(middyImportsIt).toBe(true);
  });

  it('the stand-in behaves as the real class: instanceof, new, statics', async () => {
    const { ReadableStream: StandIn } = await import('../../infra/lazy-stream-web.js');
    const { ReadableStream: Real } = await import('node:stream/web');
    expect(new Real() instanceof StandIn).toBe(true);
    expect({} instanceof StandIn).toBe(false);
    expect(new StandIn() instanceof Real).toBe(true);
    expect(Reflect.get(StandIn, 'from')).toBe(Reflect.get(Real, 'from'));
    expect(StandIn.prototype).toBe(Real.prototype);
  });
});
