import { buildSync } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run console:build` puts the console: `index.html` and content-hashed files under `assets/`. */
export const consoleDist = fileURLToPath(new URL('./dist', import.meta.url));

/**
 * Builds the console with esbuild: one minified ES module and one stylesheet, named by their
 * content hash (cached for a year by browsers and CloudFront), and an `index.html` that loads them
 * (never cached). Synchronous, so `cdk synth` can build it too. Returns the files the first page loads
 * (the entry, the chunks it imports, the stylesheet) and every script.
 * `outDir` is emptied first: give each process its own (`npm start` uses its data directory, `cdk synth`
 * a fresh temporary one), so that one build never deletes files another is serving or uploading.
 */
export function buildConsole(outDir: string): { js: string; css: string; chunks: string[]; scripts: string[] } {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = buildSync({
    entryPoints: [fileURLToPath(new URL('./src/main.tsx', import.meta.url))],
    outdir: `${outDir}/assets`,
    entryNames: '[name]-[hash]',
    // Modules loaded after the first paint (the usage chart) are chunks of their own.
    splitting: true,
    chunkNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs);
  const js = outputs.find((f) => f.endsWith('.js') && result.metafile.outputs[f]?.entryPoint !== undefined);
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error('the console build produced no script or stylesheet');
  const file = (f: string) => `${outDir}/assets/${basename(f)}`;
  // The chunks the entry imports statically, and those they import in turn, load with the first page; the others (the usage chart) after it.
  const staticImports = (output: string) => (result.metafile.outputs[output]?.imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => i.path);
  const firstLoad = new Set<string>();
  for (let pending = staticImports(js); pending.length > 0;) {
    const next = pending.filter((path) => !firstLoad.has(path));
    next.forEach((path) => firstLoad.add(path));
    pending = next.flatMap(staticImports);
  }
  const chunks = [...firstLoad].map(file);
  const built = { js: file(js), css: file(css), chunks, scripts: outputs.filter((f) => f.endsWith('.js')).map(file) };
  writeFileSync(`${outDir}/index.html`, indexHtml(built));
  return built;
}

/**
 * The console's page. `connectSrc` (deployed) adds a Content-Security-Policy meta element naming
 * exactly the origins the console may call, beside the CloudFront header (see infra/constructs/console-site.ts).
 */
export function indexHtml(built: { js: string; css: string; chunks?: string[] }, connectSrc?: string): string {
  const asset = (file: string) => `/assets/${basename(file)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${connectSrc ? `<meta http-equiv="Content-Security-Policy" content="connect-src ${connectSrc}">\n` : ''}<title>OAuth Usage</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset(built.css)}">
<script type="module" src="${asset(built.js)}"></script>
${(built.chunks ?? []).map((chunk) => `<link rel="modulepreload" href="${asset(chunk)}">`).join('\n')}
</head>
<body><div id="app"><p class="loading">Loading OAuth Usage…</p></div></body>
</html>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = buildConsole(consoleDist);
  console.log(`console built: ${basename(built.js)}, ${basename(built.css)}`);
}
