/**
 * Cold start: process start → first event handled, for the built bundle under functions-framework's own CLI
 * (`--source --target onAuditLogEvent --signature-type cloudevent`, as Cloud Run functions serve it), against
 * bench/hello (the smallest cloudEvent function) under the same framework, same CLI, same environment.
 *
 * A run spawns the framework, then POSTs a binary-mode CloudEvent (Eventarc's shape) every few ms until the first
 * 2xx: the time covers Node's start, the framework's start, loading the function and handling the event. Runs
 * alternate between variants (rotating which goes first), after one discarded warm-up each, and medians are
 * reported. Variants:
 * - hello: any event (it acknowledges everything);
 * - bundle, ignored event: CreateCluster's `first` entry, which Spokefleet ignores (no client library loads);
 * - bundle, real event: CreateCluster's `last` entry → ClusterReady for a converged spoke cluster in a LocalCloud,
 *   so every client library loads and every step reads (no writes: each run does the same work).
 *
 * The environment is the deployed one (terraform/functions.tf): NODE_ENV=production and
 * NODE_OPTIONS=--enable-source-maps. The bundle is copied to a temporary directory with node_modules linked, the
 * layout Cloud Run functions use, so a concurrent `npm run build` cannot change it mid-run.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newMessageId } from '../sandbox/audit/delivery';
import { clusterAuditEntry } from '../sandbox/audit/entries';
import { freePort } from '../sandbox/pubsub-emulator';
import { type Benchmark, childEnv, DIST, type Figure, median, ROOT, ratio, sleep } from './common';
import { benchConfig, FLEET, seedFleet, startWorld } from './world';

const run = promisify(execFile);
const FRAMEWORK_CLI = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
/** What terraform/functions.tf sets on the deployed functions. */
const DEPLOYED_NODE_OPTIONS = '--enable-source-maps';
/** Files of dist/ that are not deployed or not part of the functions. */
const NOT_DEPLOYED = /^(meta\.json|cli\.js.*)$/;

interface Variant {
  name: string;
  /** Which build (label), or 'hello'. */
  build: string;
  dir: string;
  entry: () => Record<string, unknown>;
  /** A compile cache directory for NODE_COMPILE_CACHE: 'fresh' = a new empty one per run, 'warm' = one kept. */
  compileCache?: 'fresh' | 'warm';
}

/** A build to measure: dist/ (label `bundle`), plus any in BENCH_COMPARE (`label=dir;label=dir`). */
interface Build {
  label: string;
  dir: string;
}

function builds(): Build[] {
  const extra = (process.env.BENCH_COMPARE ?? '')
    .split(';')
    .filter(Boolean)
    .map((pair) => {
      const [label, dir] = pair.split('=');
      return { label, dir };
    });
  return [{ label: 'bundle', dir: DIST }, ...extra];
}

/** Copies what is deployed (each build without meta.json and the CLI) and the hello function into a fresh
 * workspace, each with node_modules linked. */
function workspace(list: readonly Build[]): { root: string; hello: string; builds: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'spokefleet-bench-'));
  const link = (dir: string) =>
    // Resolves to the same real path as the CLI's framework, so the bundle registers with the CLI's registry.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const hello = join(root, 'hello');
  copyTree(join(ROOT, 'bench/hello'), hello, ['index.js']);
  link(hello);
  const dirs: Record<string, string> = {};
  for (const build of list) {
    if (!existsSync(join(build.dir, 'index.js')))
      throw new Error(`${build.dir}/index.js is missing: run \`npm run build\` first`);
    dirs[build.label] = join(root, build.label);
    copyTree(
      build.dir,
      dirs[build.label],
      readdirSync(build.dir).filter((f) => !NOT_DEPLOYED.test(f) && f !== 'node_modules'),
    );
    link(dirs[build.label]);
  }
  return { root, hello, builds: dirs };
}

function copyTree(from: string, to: string, files: readonly string[]): void {
  mkdirSync(to, { recursive: true });
  for (const file of files) {
    const source = join(from, file);
    if (statSync(source).isDirectory()) copyTree(source, join(to, file), readdirSync(source));
    else copyFileSync(source, join(to, file));
  }
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, f) => total + sizeOf(join(path, f)), 0);
}

/** POSTs the event as Eventarc does (binary mode); the status, or undefined when nothing listens yet. */
async function post(url: string, entry: Record<string, unknown>): Promise<number | undefined> {
  const id = newMessageId();
  const time = new Date().toISOString();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${FLEET}/topics/spokefleet-audit`,
        'ce-id': id,
        'ce-time': time,
      },
      body: JSON.stringify({
        message: {
          data: Buffer.from(JSON.stringify(entry)).toString('base64'),
          messageId: id,
          publishTime: time,
          attributes: {},
        },
        subscription: `projects/${FLEET}/subscriptions/eventarc-bench`,
      }),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** Kills the child and waits until its output is read to the end. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGKILL');
  await closed;
}

/**
 * One cold start: spawn → first 2xx, in ms; and the duration of each step the first event ran (its action records'
 * durationMs): a step's first API call includes loading and building that API's client.
 */
async function coldStartOnce(
  variant: Variant,
  baseEnv: NodeJS.ProcessEnv,
  cacheRoot: string,
): Promise<{ ms: number; steps: Record<string, number> }> {
  const env = { ...baseEnv };
  if (variant.compileCache === 'fresh') env.NODE_COMPILE_CACHE = mkdtempSync(join(cacheRoot, 'fresh-'));
  if (variant.compileCache === 'warm') env.NODE_COMPILE_CACHE = join(cacheRoot, 'warm');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      FRAMEWORK_CLI,
      `--source=${variant.dir}`,
      '--target=onAuditLogEvent',
      '--signature-type=cloudevent',
      `--port=${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  let ms: number | undefined;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited at start:\n${stderr}`);
      const status = await post(url, variant.entry());
      if (status !== undefined && status >= 200 && status < 300) {
        ms = performance.now() - started;
        break;
      }
      if (status !== undefined) throw new Error(`${variant.name} answered ${status}:\n${stderr}`);
      if (performance.now() - started > 30_000) throw new Error(`${variant.name} did not answer in 30 s`);
      await sleep(2);
    }
  } finally {
    await stop(child);
  }
  const steps: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as { step?: unknown; durationMs?: unknown };
      if (typeof record.step === 'string' && typeof record.durationMs === 'number')
        steps[record.step] = (steps[record.step] ?? 0) + record.durationMs;
    } catch {}
  }
  if (ms === undefined) throw new Error(`${variant.name}: no answer`);
  return { ms, steps };
}

/** require() of a function's file in a fresh node, timed inside that process: ms, and whether it read vendor.js. */
async function moduleLoadOnce(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; vendor: boolean }> {
  const script = `const t = performance.now(); require(${JSON.stringify(file)}); const ms = performance.now() - t;
    process.stdout.write(JSON.stringify({ ms, vendor: Object.keys(require.cache).some((f) => f.endsWith('vendor.js')) }));`;
  const { stdout } = await run(process.execPath, ['-e', script], { env, timeout: 30_000 });
  return JSON.parse(stdout) as { ms: number; vendor: boolean };
}

export interface BuildFigures {
  label: string;
  coldStartMs: { ignored: number; real: number; realFreshCache?: number; realWarmCache?: number };
  moduleLoadMs: { deployed: number; noMaps: number };
  /** Whether requiring index.js read the client libraries (vendor.js) in any run. */
  vendorAtLoad: boolean;
  /** JavaScript deployed (every .js), the part read at load (index.js), and the source maps. */
  bytes: { total: number; entry: number; maps: number };
}

export interface ColdStartResult {
  runs: number;
  /** dist/'s first real event: median duration of each step (its client library's load, build and first call). */
  firstEventSteps: Record<string, number>;
  helloMs: number;
  helloLoadMs: { deployed: number; noMaps: number };
  builds: BuildFigures[];
}

export async function measureColdStart(
  runs: number,
  progress: (line: string) => void,
  options: { compileCache?: boolean; warmup?: boolean } = {},
): Promise<ColdStartResult> {
  const list = builds();
  const cloud = await startWorld();
  const ws = workspace(list);
  try {
    const [ref] = await seedFleet(cloud, {
      clusters: 1,
      servicesPerCluster: 2,
      labelledPerCluster: 1,
      driftEvery: 0,
      prefix: 'cold',
    });
    const config = benchConfig(cloud);
    const env = childEnv({
      NODE_ENV: 'production',
      NODE_OPTIONS: DEPLOYED_NODE_OPTIONS,
      GOOGLE_CLOUD_PROJECT: FLEET,
      SPOKEFLEET_CONFIG: JSON.stringify(config),
    });
    const real = () =>
      clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        cluster: ref,
        operationId: newMessageId(),
      });
    const ignored = () =>
      clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'first',
        cluster: ref,
        operationId: newMessageId(),
      });
    const variants: Variant[] = [{ name: 'hello', build: 'hello', dir: ws.hello, entry: real }];
    for (const build of list) {
      const dir = ws.builds[build.label];
      variants.push(
        { name: `${build.label}: ignored`, build: build.label, dir, entry: ignored },
        { name: `${build.label}: real`, build: build.label, dir, entry: real },
      );
    }
    if (options.compileCache) {
      const dir = ws.builds.bundle;
      variants.push(
        { name: 'bundle: real, fresh cache', build: 'bundle', dir, entry: real, compileCache: 'fresh' },
        { name: 'bundle: real, warm cache', build: 'bundle', dir, entry: real, compileCache: 'warm' },
      );
    }
    const cacheRoot = join(ws.root, 'compile-cache');
    mkdirSync(cacheRoot);
    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const stepSamples = new Map<string, number[]>();
    // Warm-up (discarded): the OS file cache, the warm compile cache, and proof that every variant answers.
    if (options.warmup !== false)
      for (const variant of variants) await coldStartOnce(variant, env, cacheRoot);
    for (let i = 0; i < runs; i++) {
      const order = variants.map((_, k) => variants[(k + i) % variants.length]);
      for (const variant of order) {
        const { ms, steps } = await coldStartOnce(variant, env, cacheRoot);
        samples.get(variant.name)?.push(ms);
        if (variant.name === 'bundle: real') {
          for (const [step, d] of Object.entries(steps))
            stepSamples.set(step, [...(stepSamples.get(step) ?? []), d]);
        }
      }
      progress(`cold start: run ${i + 1}/${runs}`);
    }
    const noMaps = { ...env, NODE_OPTIONS: '' };
    const loads = new Map<string, number[]>();
    const vendorAtLoad = new Set<string>();
    const files: Array<[string, string]> = [
      ['hello', join(ws.hello, 'index.js')],
      ...list.map((b): [string, string] => [b.label, join(ws.builds[b.label], 'index.js')]),
    ];
    for (let i = 0; i < runs; i++) {
      const order = files.flatMap(([label, file]) => [
        [`${label}:deployed`, file, env] as const,
        [`${label}:noMaps`, file, noMaps] as const,
      ]);
      if (i % 2) order.reverse();
      for (const [key, file, e] of order) {
        const { ms, vendor } = await moduleLoadOnce(file, e);
        loads.set(key, [...(loads.get(key) ?? []), ms]);
        if (vendor) vendorAtLoad.add(key.split(':')[0]);
      }
    }
    const at = (name: string) => median(samples.get(name) ?? []);
    const load = (label: string) => ({
      deployed: median(loads.get(`${label}:deployed`) ?? []),
      noMaps: median(loads.get(`${label}:noMaps`) ?? []),
    });
    return {
      runs,
      firstEventSteps: Object.fromEntries([...stepSamples].map(([step, v]) => [step, median(v)])),
      helloMs: at('hello'),
      helloLoadMs: load('hello'),
      builds: list.map((b) => {
        const dir = ws.builds[b.label];
        const deployed = readdirSync(dir).filter((f) => f !== 'node_modules');
        return {
          label: b.label,
          coldStartMs: {
            ignored: at(`${b.label}: ignored`),
            real: at(`${b.label}: real`),
            ...(options.compileCache && b.label === 'bundle'
              ? {
                  realFreshCache: at('bundle: real, fresh cache'),
                  realWarmCache: at('bundle: real, warm cache'),
                }
              : {}),
          },
          moduleLoadMs: load(b.label),
          vendorAtLoad: vendorAtLoad.has(b.label),
          bytes: {
            total: deployed.filter((f) => f.endsWith('.js')).reduce((t, f) => t + sizeOf(join(dir, f)), 0),
            entry: statSync(join(dir, 'index.js')).size,
            maps: deployed.filter((f) => f.endsWith('.map')).reduce((t, f) => t + sizeOf(join(dir, f)), 0),
          },
        };
      }),
    };
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
    await cloud.close();
  }
}

export function coldStartFigures(r: ColdStartResult): Figure[] {
  const group = `Cold start (functions-framework CLI, deployed env, median of ${r.runs}; baseline = hello)`;
  const hello = r.helloMs;
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 100) / 100;
  const figures: Figure[] = [];
  for (const b of r.builds) {
    const label = b.label === 'bundle' ? '' : ` [${b.label}]`;
    const vs = (figure: string, value: number, target: boolean): Figure => ({
      group,
      figure: `${figure}${label}`,
      value: Math.round(value),
      unit: 'ms',
      baseline: Math.round(hello),
      ratio: ratio(value, hello),
      ...(target ? { target: '≤ 1.3×', met: value / hello <= 1.3 } : {}),
    });
    figures.push(
      vs('start → first event handled: real ClusterReady', b.coldStartMs.real, true),
      vs('start → first event handled: ignored event', b.coldStartMs.ignored, true),
    );
    if (b.coldStartMs.realFreshCache !== undefined)
      figures.push(
        vs(
          'real ClusterReady, NODE_COMPILE_CACHE empty (a new instance)',
          b.coldStartMs.realFreshCache,
          false,
        ),
      );
    if (b.coldStartMs.realWarmCache !== undefined)
      figures.push(
        vs(
          'real ClusterReady, NODE_COMPILE_CACHE warm (same disk again)',
          b.coldStartMs.realWarmCache,
          false,
        ),
      );
    figures.push(
      {
        group,
        figure: `module load: require(index.js), deployed env${label}`,
        value: Math.round(b.moduleLoadMs.deployed),
        unit: 'ms',
        baseline: Math.round(r.helloLoadMs.deployed),
        ratio: ratio(b.moduleLoadMs.deployed, r.helloLoadMs.deployed),
      },
      {
        group,
        figure: `module load: require(index.js), no source maps${label}`,
        value: Math.round(b.moduleLoadMs.noMaps),
        unit: 'ms',
        baseline: Math.round(r.helloLoadMs.noMaps),
        ratio: ratio(b.moduleLoadMs.noMaps, r.helloLoadMs.noMaps),
      },
      { group, figure: `JavaScript read at load (index.js)${label}`, value: mib(b.bytes.entry), unit: 'MiB' },
      {
        group,
        figure: `client libraries (vendor.js) read by require(index.js)${label}`,
        value: b.vendorAtLoad ? 1 : 0,
        unit: 'files',
        ...(b.label === 'bundle' ? { target: '= 0', met: !b.vendorAtLoad } : {}),
      },
      { group, figure: `JavaScript deployed (all .js)${label}`, value: mib(b.bytes.total), unit: 'MiB' },
      { group, figure: `source maps deployed${label}`, value: mib(b.bytes.maps), unit: 'MiB' },
    );
  }
  const steps = Object.entries(r.firstEventSteps).filter(([, ms]) => ms >= 1);
  if (steps.length) {
    figures.push({
      group,
      figure: `first real event, step by step: ${steps.map(([step, ms]) => `${step} ${Math.round(ms)}`).join(', ')} ms`,
      value: Math.round(steps.reduce((t, [, ms]) => t + ms, 0)),
      unit: 'ms',
      note: 'a step includes building its client on first use',
    });
  }
  return figures;
}

export const coldStart: Benchmark = {
  name: 'cold-start',
  async run({ smoke, progress }) {
    return coldStartFigures(
      await measureColdStart(smoke ? 1 : 7, progress, { compileCache: !smoke, warmup: !smoke }),
    );
  },
};
