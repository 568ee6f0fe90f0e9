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
 *   so every client library loads and every row of DESIGN §1 is read (no writes: each run does the same work).
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
import { clusterAuditEntry } from '../sandbox/audit/entries';
import { newMessageId } from '../sandbox/audit/delivery';
import { freePort } from '../sandbox/pubsub-emulator';
import type { ClusterRef } from '../shared/events/types';
import { type Benchmark, childEnv, type Figure, median, ROOT, ratio, sleep } from './common';
import { benchConfig, FLEET, seedFleet, startWorld } from './world';

const run = promisify(execFile);
const FRAMEWORK_CLI = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
const DIST = join(ROOT, 'dist');
/** What terraform/functions.tf sets on the deployed functions. */
const DEPLOYED_NODE_OPTIONS = '--enable-source-maps';
/** Files of dist/ that are not deployed or not part of the functions. */
const NOT_DEPLOYED = /^(meta\.json|cli\.js.*)$/;

interface Variant {
  name: 'hello' | 'bundle, ignored event' | 'bundle, real event';
  dir: string;
  entry: () => Record<string, unknown>;
}

/** Copies what is deployed (dist/ without meta.json and the CLI) and the hello function into a fresh workspace. */
function workspace(): { root: string; bundle: string; hello: string } {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first');
  const root = mkdtempSync(join(tmpdir(), 'spokefleet-bench-'));
  const bundle = join(root, 'bundle');
  const hello = join(root, 'hello');
  for (const [dir, files] of [
    [bundle, readdirSync(DIST).filter((f) => !NOT_DEPLOYED.test(f))],
    [hello, ['index.js']],
  ] as const) {
    copyTree(dir === bundle ? DIST : join(ROOT, 'bench/hello'), dir, files);
    // Resolves to the same real path as the CLI's framework, so the bundle registers with the CLI's registry.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  }
  return { root, bundle, hello };
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** One cold start: spawn → first 2xx, in ms. */
async function coldStartOnce(variant: Variant, env: NodeJS.ProcessEnv): Promise<number> {
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
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited at start:\n${stderr}`);
      const status = await post(url, variant.entry());
      if (status !== undefined && status >= 200 && status < 300) return performance.now() - started;
      if (status !== undefined) throw new Error(`${variant.name} answered ${status}:\n${stderr}`);
      if (performance.now() - started > 30_000) throw new Error(`${variant.name} did not answer in 30 s`);
      await sleep(2);
    }
  } finally {
    await stop(child);
  }
}

/** require() of a function's file in a fresh node, timed inside that process; ms. */
async function moduleLoadOnce(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const script = `const t = performance.now(); require(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await run(process.execPath, ['-e', script], { env, timeout: 30_000 });
  return Number(stdout);
}

export interface ColdStartResult {
  runs: number;
  coldStartMs: Record<Variant['name'], number>;
  moduleLoadMs: { hello: number; bundle: number; helloNoMaps: number; bundleNoMaps: number };
  bundleBytes: number;
  /** The JavaScript read at load: dist/index.js itself (other files load on first use, if the build splits). */
  entryBytes: number;
  sourceMapBytes: number;
}

export async function measureColdStart(runs: number, progress: (line: string) => void): Promise<ColdStartResult> {
  const cloud = await startWorld();
  const ws = workspace();
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
    const lastEntry = (cluster: ClusterRef) => () =>
      clusterAuditEntry({ method: 'CreateCluster', phase: 'last', cluster, operationId: newMessageId() });
    const firstEntry = (cluster: ClusterRef) => () =>
      clusterAuditEntry({ method: 'CreateCluster', phase: 'first', cluster, operationId: newMessageId() });
    const variants: Variant[] = [
      { name: 'hello', dir: ws.hello, entry: lastEntry(ref) },
      { name: 'bundle, ignored event', dir: ws.bundle, entry: firstEntry(ref) },
      { name: 'bundle, real event', dir: ws.bundle, entry: lastEntry(ref) },
    ];
    const samples = new Map<Variant['name'], number[]>(variants.map((v) => [v.name, []]));
    // Warm-up (discarded): the OS file cache, and proof that every variant answers.
    for (const variant of variants) await coldStartOnce(variant, env);
    for (let i = 0; i < runs; i++) {
      const order = variants.map((_, k) => variants[(k + i) % variants.length]);
      for (const variant of order) samples.get(variant.name)?.push(await coldStartOnce(variant, env));
      progress(`cold start: run ${i + 1}/${runs}`);
    }
    const load = { hello: [] as number[], bundle: [] as number[], helloNoMaps: [] as number[], bundleNoMaps: [] as number[] };
    const noMaps = { ...env, NODE_OPTIONS: '' };
    for (let i = 0; i < runs; i++) {
      const pairs: Array<[keyof typeof load, string, NodeJS.ProcessEnv]> = [
        ['hello', join(ws.hello, 'index.js'), env],
        ['bundle', join(ws.bundle, 'index.js'), env],
        ['helloNoMaps', join(ws.hello, 'index.js'), noMaps],
        ['bundleNoMaps', join(ws.bundle, 'index.js'), noMaps],
      ];
      if (i % 2) pairs.reverse();
      for (const [key, file, e] of pairs) load[key].push(await moduleLoadOnce(file, e));
    }
    const maps = readdirSync(ws.bundle).filter((f) => f.endsWith('.map'));
    return {
      runs,
      coldStartMs: Object.fromEntries([...samples].map(([k, v]) => [k, median(v)])) as ColdStartResult['coldStartMs'],
      moduleLoadMs: {
        hello: median(load.hello),
        bundle: median(load.bundle),
        helloNoMaps: median(load.helloNoMaps),
        bundleNoMaps: median(load.bundleNoMaps),
      },
      bundleBytes: readdirSync(ws.bundle)
        .filter((f) => f.endsWith('.js') || statSync(join(ws.bundle, f)).isDirectory())
        .filter((f) => f !== 'node_modules')
        .reduce((total, f) => total + sizeOf(join(ws.bundle, f)), 0),
      entryBytes: statSync(join(ws.bundle, 'index.js')).size,
      sourceMapBytes: maps.reduce((total, f) => total + sizeOf(join(ws.bundle, f)), 0),
    };
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
    await cloud.close();
  }
}

export function coldStartFigures(r: ColdStartResult): Figure[] {
  const group = `Cold start (functions-framework CLI, deployed env, median of ${r.runs}; baseline = hello)`;
  const hello = r.coldStartMs.hello;
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 100) / 100;
  const real = r.coldStartMs['bundle, real event'];
  const ignored = r.coldStartMs['bundle, ignored event'];
  return [
    {
      group,
      figure: 'start → first event handled: real ClusterReady',
      value: Math.round(real),
      unit: 'ms',
      baseline: Math.round(hello),
      ratio: ratio(real, hello),
      target: '≤ 1.3×',
      met: real / hello <= 1.3,
    },
    {
      group,
      figure: 'start → first event handled: ignored event',
      value: Math.round(ignored),
      unit: 'ms',
      baseline: Math.round(hello),
      ratio: ratio(ignored, hello),
      target: '≤ 1.3×',
      met: ignored / hello <= 1.3,
    },
    {
      group,
      figure: 'module load: require(index.js), deployed env',
      value: Math.round(r.moduleLoadMs.bundle),
      unit: 'ms',
      baseline: Math.round(r.moduleLoadMs.hello),
      ratio: ratio(r.moduleLoadMs.bundle, r.moduleLoadMs.hello),
    },
    {
      group,
      figure: 'module load: require(index.js), no source maps',
      value: Math.round(r.moduleLoadMs.bundleNoMaps),
      unit: 'ms',
      baseline: Math.round(r.moduleLoadMs.helloNoMaps),
      ratio: ratio(r.moduleLoadMs.bundleNoMaps, r.moduleLoadMs.helloNoMaps),
    },
    { group, figure: 'JavaScript read at load (index.js)', value: mib(r.entryBytes), unit: 'MiB' },
    { group, figure: 'bundle size (all .js deployed)', value: mib(r.bundleBytes), unit: 'MiB' },
    { group, figure: 'source maps deployed', value: mib(r.sourceMapBytes), unit: 'MiB' },
  ];
}

export const coldStart: Benchmark = {
  name: 'cold-start',
  async run({ smoke, progress }) {
    return coldStartFigures(await measureColdStart(smoke ? 1 : 7, progress));
  },
};
