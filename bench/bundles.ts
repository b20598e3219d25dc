/**
 * Bundle size and cold import time of every function, each against a "floor": a bundle of only
 * the AWS SDK clients (and commands) that function bundles, built the same way. The ratio is
 * what our own code and libraries cost on top of the SDK a Lambda function cannot do without.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { functionBundling } from '../infra/bundling.js';

export interface BundleResult {
  entry: string;
  bytes: number;
  importMs: number;
  floor: { sdk: string[]; bytes: number; importMs: number };
}

const root = resolve(import.meta.dirname, '..');

function entries(): string[] {
  const under = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? under(path) : name.endsWith('.ts') ? [path] : [];
  });
  return under(join(root, 'functions')).sort();
}

async function bundle(entryPoints: string[] | { contents: string }, outfile: string): Promise<Metafile> {
  const result = await build({
    ...(Array.isArray(entryPoints) ? { entryPoints } : { stdin: { contents: entryPoints.contents, resolveDir: root, loader: 'js' } }),
    outfile,
    bundle: true,
    platform: 'node',
    format: functionBundling.format,
    target: functionBundling.target,
    minify: functionBundling.minify,
    sourcemap: functionBundling.sourceMap ? 'external' : false,
    mainFields: [...functionBundling.mainFields],
    external: [...functionBundling.externalModules],
    banner: { js: functionBundling.banner },
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

/** The SDK clients and commands a bundle holds, as `package → exported names`. */
function sdkUsed(metafile: Metafile): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0];
  // Only modules that made it into the bundle: tree-shaken ones are listed with 0 bytes.
  const included = Object.entries(output?.inputs ?? {}).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path);
  for (const input of included) {
    const match = /node_modules\/(@aws-sdk\/(?:client-[a-z0-9-]+|lib-dynamodb))\/dist-es\/(?:commands\/(\w+Command)\.js|(\w+Client)\.js)$/.exec(input);
    if (!match?.[1]) continue;
    const names = used.get(match[1]) ?? new Set<string>();
    names.add((match[2] ?? match[3]) as string);
    used.set(match[1], names);
  }
  return used;
}

function floorSource(used: Map<string, Set<string>>): string {
  return [...used].map(([pkg, names], i) => {
    const sorted = [...names].sort();
    return `import { ${sorted.map((n) => `${n} as c${i}${n}`).join(', ')} } from '${pkg}';\nexport const c${i} = [${sorted.map((n) => `c${i}${n}`).join(', ')}];`;
  }).join('\n');
}

/** Median time to `import()` a bundle in a fresh Node process, over `runs` processes. */
function coldImportMs(file: string, runs: number, env: NodeJS.ProcessEnv): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    times.push(Number(out.trim().split('\n').at(-1)));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export async function measureBundles(options: { runs: number; env: NodeJS.ProcessEnv; outDir: string }): Promise<BundleResult[]> {
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const floors = new Map<string, { bytes: number; importMs: number }>();
  const results: BundleResult[] = [];
  for (const entry of entries()) {
    const name = relative(join(root, 'functions'), entry).replace(/\.ts$/, '').replace(/\//g, '--');
    const outfile = join(options.outDir, `${name}.mjs`);
    const used = sdkUsed(await bundle([entry], outfile));
    const source = floorSource(used);
    let floor = floors.get(source);
    if (!floor) {
      const floorFile = join(options.outDir, `floor-${floors.size}.mjs`);
      await bundle({ contents: source }, floorFile);
      floor = { bytes: statSync(floorFile).size, importMs: coldImportMs(floorFile, options.runs, options.env) };
      floors.set(source, floor);
    }
    results.push({
      entry: relative(root, entry),
      bytes: statSync(outfile).size,
      importMs: coldImportMs(outfile, options.runs, options.env),
      floor: { sdk: [...used.keys()].sort(), ...floor },
    });
  }
  writeFileSync(join(options.outDir, 'floors.json'), JSON.stringify([...floors.keys()], null, 2));
  return results;
}
