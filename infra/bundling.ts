import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  // Not loaded at cold start: see the module's comment.
  alias: { 'node:stream/web': fileURLToPath(new URL('./lazy-stream-web.ts', import.meta.url)) },
} as const;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The same as esbuild's command-line arguments, for the stack's NodejsFunction (which has no
 * `alias` option). Relative to the project's root, where it runs esbuild (also inside a container).
 */
export const functionBundlingArgs = {
  '--alias': Object.entries(functionBundling.alias).map(([from, to]) => `${from}=./${relative(projectRoot, to)}`),
};
