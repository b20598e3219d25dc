/**
 * Bundle size and cold import time of every function, each against a "floor": a bundle of only
 * the AWS SDK clients (and commands) that function bundles, built the same way. The ratio is
 * what our own code and libraries cost on top of the SDK a Lambda function cannot do without.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { bundleAliases, functionBundling, projectRoot as root } from '../infra/bundling.js';

export interface BundleResult {
  entry: string;
  bytes: number;
  importMs: number;
  /** The median over rounds of this function's import time ÷ its floor's imported beside it: robust to the machine's drift. */
  importVsFloor: number;
  /** Only for the few worst by `importVsFloor`: the same ratio measured again, over many more rounds. */
  recheck?: { runs: number; importVsFloor: number };
  floor: { sdk: string[]; bytes: number; importMs: number };
}


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
    alias: bundleAliases,
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
    const match = /node_modules\/(@aws-sdk\/(?:client-[a-z0-9-]+|lib-dynamodb))\/dist-es\/(?:commands\/(\w+Command)\.js|(\w+Client)\.js)$/.exec(input)
      // S3's presigner is an SDK client's part too (the function that signs export downloads).
      ?? /node_modules\/(@aws-sdk\/s3-request-presigner)\/dist-es\/(getSignedUrl)\.js$/.exec(input);
    if (!match?.[1]) continue;
    const names = used.get(match[1]) ?? new Set<string>();
    names.add((match[2] ?? match[3]) as string);
    used.set(match[1], names);
  }
  return used;
}

/**
 * The floor: the same SDK clients and commands, and the clients the service creates when a
 * function loads (DynamoDB with its document client, SQS, S3) created the same way.
 */
function floorSource(used: Map<string, Set<string>>): string {
  const lines = [...used].map(([pkg, names], i) => {
    const sorted = [...names].sort();
    return `import { ${sorted.map((n) => `${n} as c${i}${n}`).join(', ')} } from '${pkg}';\nexport const c${i} = [${sorted.map((n) => `c${i}${n}`).join(', ')}];`;
  });
  const alias = (pkg: string, name: string) => {
    const i = [...used.keys()].indexOf(pkg);
    return i >= 0 && used.get(pkg)?.has(name) ? `c${i}${name}` : undefined;
  };
  const dynamo = alias('@aws-sdk/client-dynamodb', 'DynamoDBClient');
  const document = alias('@aws-sdk/lib-dynamodb', 'DynamoDBDocumentClient');
  const sqs = alias('@aws-sdk/client-sqs', 'SQSClient');
  const s3 = alias('@aws-sdk/client-s3', 'S3Client');
  if (dynamo) lines.push(`export const dynamo = new ${dynamo}({});${document ? ` export const db = ${document}.from(dynamo);` : ''}`);
  if (sqs) lines.push(`export const sqs = new ${sqs}({});`);
  if (s3) lines.push(`export const s3 = new ${s3}({});`);
  return lines.join('\n');
}

/**
 * CPU time (user + system) to `import()` a bundle in a fresh Node process. Not wall time: on this
 * kind of machine (a small VM) time stolen by its host swung wall-clock imports by a third between
 * rounds, while the work an import does, parsing and running module code, is all CPU.
 */
function coldImportMs(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const c = process.cpuUsage(); await import(${JSON.stringify(file)}); const d = process.cpuUsage(c); console.log((d.user + d.system) / 1000);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  return Number(out.trim().split('\n').at(-1));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * The second stage. A function's median ratio over the first stage's 21 rounds is still off by a
 * few hundredths either way, so the worst of some 20 of them mostly picks whichever function drew
 * the most noise. So the few worst are measured again over enough rounds to halve that noise, and
 * the budget line is the worst of these. Fresh rounds: the first stage's are biased up, having been
 * picked for being high.
 */
const RECHECK_FUNCTIONS = 4;
const RECHECK_RUNS = 100;

interface Built { entry: string; file: string; floor: string; sdk: string[] }

/**
 * `runs` rounds, each importing every function and its floor one just after the other, so that the
 * machine's drift hits both alike: the floor first in even rounds, the function first in odd ones,
 * so that neither order is favoured. Returns each function's times and ratios (own ÷ floor).
 */
function pairedRounds(functions: Built[], runs: number, env: NodeJS.ProcessEnv) {
  const samples = functions.map(() => ({ own: [] as number[], floor: [] as number[], ratios: [] as number[] }));
  for (let round = 0; round < runs; round++) {
    functions.forEach((f, i) => {
      let floor: number, own: number;
      if (round % 2 === 0) {
        floor = coldImportMs(f.floor, env);
        own = coldImportMs(f.file, env);
      } else {
        own = coldImportMs(f.file, env);
        floor = coldImportMs(f.floor, env);
      }
      const s = samples[i] as (typeof samples)[number];
      s.own.push(own);
      s.floor.push(floor);
      s.ratios.push(own / floor);
    });
  }
  return samples;
}

/**
 * Builds every function and its floor, then times cold imports in two stages: `runs` paired rounds
 * of every function (`importVsFloor`), then `RECHECK_RUNS` more of the few worst that have a floor
 * (`recheck`).
 */
export async function measureBundles(options: { runs: number; env: NodeJS.ProcessEnv; outDir: string }): Promise<BundleResult[]> {
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const floors = new Map<string, string>();
  const functions: Built[] = [];
  for (const entry of entries()) {
    const file = join(options.outDir, `${relative(join(root, 'functions'), entry).replace(/\.ts$/, '').replace(/\//g, '--')}.mjs`);
    const source = floorSource(sdkUsed(await bundle([entry], file)));
    let floor = floors.get(source);
    if (!floor) {
      floor = join(options.outDir, `floor-${floors.size}.mjs`);
      await bundle({ contents: source }, floor);
      floors.set(source, floor);
    }
    functions.push({ entry, file, floor, sdk: [...source.matchAll(/from '(@aws-sdk\/[^']+)'/g)].map((m) => m[1] as string).sort() });
  }
  const results: BundleResult[] = pairedRounds(functions, options.runs, options.env).map(({ own, floor, ratios }, i) => {
    const f = functions[i] as Built;
    return {
      entry: relative(root, f.entry),
      bytes: statSync(f.file).size,
      importMs: median(own),
      importVsFloor: median(ratios),
      floor: { sdk: f.sdk, bytes: statSync(f.floor).size, importMs: median(floor) },
    };
  });
  // Functions that use no SDK client have no floor to compare with.
  const worst = functions.map((f, i) => ({ f, result: results[i] as BundleResult })).filter(({ f }) => f.sdk.length > 0)
    .sort((a, b) => b.result.importVsFloor - a.result.importVsFloor).slice(0, RECHECK_FUNCTIONS);
  pairedRounds(worst.map(({ f }) => f), RECHECK_RUNS, options.env).forEach(({ ratios }, i) => {
    (worst[i] as (typeof worst)[number]).result.recheck = { runs: RECHECK_RUNS, importVsFloor: median(ratios) };
  });
  return results.sort((a, b) => a.entry.localeCompare(b.entry));
}
