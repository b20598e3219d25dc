import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root (with a trailing slash): where the stack's NodejsFunction runs esbuild. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * How every function is bundled (esbuild): ESM for Node.js 22, minified and tree-shaken, source
 * maps beside the bundle, every dependency bundled (SDK clients included, not taken from the
 * runtime). The stack's NodejsFunction and the bundle benchmark both build from this.
 */
export const functionBundling = {
  format: 'esm',
  target: 'node22',
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  externalModules: [] as string[],
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
} as const;

/** Modules every bundle gets in place of another: not loaded at cold start (see the stand-in's comment). */
export const bundleAliases = {
  'node:stream/web': fileURLToPath(new URL('./lazy-stream-web.ts', import.meta.url)),
} as const;

/**
 * The same as esbuild's command-line arguments, for the stack's NodejsFunction (which has no
 * `alias` option): relative to the project's root, so that they hold inside a bundling container too.
 */
export const bundleAliasArgs = {
  '--alias': Object.entries(bundleAliases).map(([from, to]) => `${from}=./${relative(projectRoot, to)}`),
};
