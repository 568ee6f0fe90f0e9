/**
 * Fleet-scale reconcile: a `{"scope":"fleet"}` request over N clusters × 50 Services with 20 ms injected on every
 * stand-in call (`faults.setRule('*', {latencyMs: 20})`), run by a worker process (bench/fleet-worker.ts: the
 * production app on the real clients, one instance) so its peak RSS is its own.
 *
 * The fleet is seeded converged (bench/world.ts) with drift in every 10th cluster: one labelled Service without
 * its export (a create, which needs the fleet-wide export view: one list per member cluster, once per request)
 * and one managed export whose Service lost its label (a delete). The drift is put back before every job, so
 * every job does the same work.
 *
 * Figures:
 * - wall time against the critical-path bound = calls × latency ÷ lanes, lanes = min(concurrency, clusters);
 *   calls counted by the stand-ins for that job. Assumes every call costs exactly the injected latency (the
 *   stand-ins answer in well under 1 ms otherwise), that a cluster's calls run one after another, and that all
 *   lanes are busy all the time. The first two make the bound conservative (two calls per cluster run in
 *   parallel; the fleet view lists at its own concurrency); the third ignores the ramp-down at the end.
 * - speed-up against a sequential run (concurrency 1) of the same fleet in the same worker: the ideal is the
 *   concurrency itself, so ≥ 10× needs concurrency ≥ 16 (the default 8 cannot reach it; both are shown).
 * - peak RSS of the worker (process.resourceUsage().maxRSS), bundled like the functions.
 * - growth: 10 → 100 → 300 clusters at concurrency 16, wall time per cluster against the 100-cluster run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { ReconcileRequest } from '../shared/events/request';
import type { ClusterRef } from '../shared/events/types';
import { type Benchmark, type Figure, ROOT, ratio, round, Worker } from './common';
import type { FleetJob, FleetJobResult } from './fleet-worker';
import {
  benchConfig,
  type CallCounts,
  callsSince,
  type FleetShape,
  NAMESPACE,
  putExport,
  seedFleet,
  startWorld,
} from './world';

export const LATENCY_MS = 20;

export interface FleetRun extends FleetJobResult {
  concurrency: number;
  clustersSeeded: number;
  services: number;
  calls: CallCounts;
  /** calls × latency ÷ min(concurrency, clusters), ms. */
  boundMs: number;
}

const svc = (i: number) => `svc-${String(i).padStart(3, '0')}`;

/** Puts the drift back: the missing export missing again, the stale managed export back. */
function resetDrift(cloud: Awaited<ReturnType<typeof startWorld>>, refs: ClusterRef[], shape: FleetShape): void {
  if (!shape.driftEvery) return;
  for (const [i, ref] of refs.entries()) {
    if (i % shape.driftEvery) continue;
    const store = cloud.kube(ref).api.store;
    store.delete('serviceexports', NAMESPACE, svc(0));
    if (!store.get('serviceexports', NAMESPACE, svc(shape.labelledPerCluster))) {
      putExport(cloud, ref, svc(shape.labelledPerCluster));
    }
  }
}

let workerFile: Promise<string> | undefined;

/**
 * The worker, bundled the way scripts/build.mjs bundles the functions (esbuild, CommonJS, node22, minified
 * syntax), so its memory is production code's and not tsx's (tsx adds ~150 MiB of its own). Built once per run.
 */
export function bundledWorker(): Promise<string> {
  workerFile ??= (async () => {
    const outfile = join(mkdtempSync(join(tmpdir(), 'spokefleet-bench-worker-')), 'fleet-worker.js');
    await build({
      entryPoints: [join(ROOT, 'bench/fleet-worker.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: 'warning',
    });
    return outfile;
  })();
  return workerFile;
}

/** Seeds one fleet in a fresh local cloud, runs `jobs` in one worker, returns one FleetRun per job. */
export async function runFleet(
  shape: FleetShape,
  jobs: Array<{ name: string; concurrency: number }>,
  progress: (line: string) => void,
): Promise<FleetRun[]> {
  const cloud = await startWorld();
  let worker: Worker | undefined;
  try {
    const refs = await seedFleet(cloud, shape);
    const config = benchConfig(cloud, {
      concurrency: 8,
      // The seeded fleet exports more than GKE's MCS limits allow (50 Services, 5 clusters each); raised so
      // nothing is refused. The checks still run, and still read the fleet-wide view.
      limits: { maxClustersPerService: 10_000, maxServicesPerFleet: 10_000 },
    });
    cloud.faults.setRule('*', { latencyMs: LATENCY_MS });
    const fleet: ReconcileRequest = { scope: 'fleet' };
    const warm = refs[Math.min(1, refs.length - 1)];
    const warmup: ReconcileRequest = {
      scope: 'cluster',
      project: warm.project,
      location: warm.location,
      cluster: warm.name,
    };
    const workerJobs: FleetJob[] = jobs.map((j) => ({ ...j, request: fleet }));
    worker = new Worker([await bundledWorker()], { config, warmup, jobs: workerJobs });
    const runs: FleetRun[] = [];
    for (const job of jobs) {
      await worker.next('ready');
      resetDrift(cloud, refs, shape);
      const before = cloud.faults.counters();
      worker.go();
      const result = JSON.parse(await worker.next('done')) as FleetJobResult;
      const calls = callsSince(cloud, before);
      if (process.env.BENCH_DEBUG) progress(JSON.stringify(calls.byMethod));
      const total = calls.reads + calls.writes + calls.faults;
      const lanes = Math.min(job.concurrency, refs.length);
      runs.push({
        ...result,
        concurrency: job.concurrency,
        clustersSeeded: refs.length,
        services: shape.servicesPerCluster,
        calls,
        boundMs: (total * LATENCY_MS) / lanes,
      });
      progress(
        `fleet ${refs.length}×${shape.servicesPerCluster} ${job.name}: ${Math.round(result.wallMs)} ms, ${total} calls, peak RSS ${Math.round(result.maxRssMiB)} MiB (warm ${Math.round(result.warmRssMiB)})`,
      );
    }
    return runs;
  } finally {
    await worker?.close();
    await cloud.close();
  }
}

export interface FleetSizes {
  main: FleetShape;
  /** Sizes for the growth figures (each its own fleet), besides the main one. */
  growth: FleetShape[];
  concurrency: number;
}

export const FULL: FleetSizes = {
  main: { clusters: 100, servicesPerCluster: 50, labelledPerCluster: 5, driftEvery: 10 },
  growth: [
    { clusters: 10, servicesPerCluster: 50, labelledPerCluster: 5, driftEvery: 10 },
    { clusters: 300, servicesPerCluster: 50, labelledPerCluster: 5, driftEvery: 10 },
  ],
  concurrency: 16,
};

export const SMOKE: FleetSizes = {
  main: { clusters: 6, servicesPerCluster: 4, labelledPerCluster: 2, driftEvery: 3 },
  growth: [{ clusters: 3, servicesPerCluster: 4, labelledPerCluster: 2, driftEvery: 3 }],
  concurrency: 4,
};

export async function measureFleet(sizes: FleetSizes, progress: (line: string) => void) {
  const c = sizes.concurrency;
  const main = await runFleet(
    sizes.main,
    [
      { name: `concurrency ${c}`, concurrency: c },
      { name: 'concurrency 8', concurrency: 8 },
      { name: 'sequential', concurrency: 1 },
    ],
    progress,
  );
  const growth: FleetRun[] = [];
  for (const shape of sizes.growth) {
    growth.push(...(await runFleet(shape, [{ name: `concurrency ${c}`, concurrency: c }], progress)));
  }
  return { main, growth };
}

export function fleetFigures(result: Awaited<ReturnType<typeof measureFleet>>): Figure[] {
  const [top, eight, sequential] = result.main;
  const n = top.clustersSeeded;
  const group = `Fleet reconcile (${n} clusters × ${top.services} Services, ${LATENCY_MS} ms per call; baseline = bound or sequential)`;
  const figures: Figure[] = [];
  for (const run of [top, eight]) {
    figures.push({
      group,
      figure: `wall time, concurrency ${run.concurrency} vs bound (${run.calls.reads + run.calls.writes} calls × ${LATENCY_MS} ms ÷ ${Math.min(run.concurrency, n)})`,
      value: Math.round(run.wallMs),
      unit: 'ms',
      baseline: Math.round(run.boundMs),
      ratio: ratio(run.wallMs, run.boundMs),
      target: '≤ 1.25×',
      met: run.wallMs / run.boundMs <= 1.25 && run.failed.length === 0,
      note: run.failed.length ? `${run.failed.length} failed` : undefined,
    });
  }
  for (const run of [top, eight]) {
    const speedup = sequential.wallMs / run.wallMs;
    figures.push({
      group,
      figure: `speed-up vs sequential, concurrency ${run.concurrency} (ideal ${run.concurrency}×)`,
      value: Math.round(run.wallMs),
      unit: 'ms',
      baseline: Math.round(sequential.wallMs),
      ratio: round(speedup, 2),
      target: '≥ 10×',
      met: speedup >= 10,
      note: run.concurrency < 10 ? 'cannot reach 10× at this concurrency' : undefined,
    });
  }
  const peak = Math.max(...result.main.map((r) => r.maxRssMiB));
  figures.push({
    group,
    figure: 'peak RSS of the worker (maxRSS)',
    value: Math.round(peak),
    unit: 'MiB',
    target: '≤ 256 MiB',
    met: peak <= 256,
  });
  figures.push({
    group,
    figure: `calls per cluster (reads / writes over the run: ${top.calls.reads} / ${top.calls.writes})`,
    value: round((top.calls.reads + top.calls.writes) / n, 2),
    unit: 'calls',
  });
  const perCluster = (r: FleetRun) => r.wallMs / r.clustersSeeded;
  const growthGroup = `Fleet reconcile growth (concurrency ${top.concurrency}; baseline = ${n} clusters)`;
  for (const run of [...result.growth, top].sort((a, b) => a.clustersSeeded - b.clustersSeeded)) {
    const bigger = run.clustersSeeded > n;
    figures.push({
      group: growthGroup,
      figure: `${run.clustersSeeded} clusters: wall time per cluster (total ${Math.round(run.wallMs)} ms, ${Math.round(run.wallMs / run.boundMs * 100) / 100}× its bound)`,
      value: round(perCluster(run), 1),
      unit: 'ms',
      baseline: round(perCluster(top), 1),
      ratio: ratio(perCluster(run), perCluster(top)),
      ...(bigger ? { target: '≤ 1.25× (linear)', met: perCluster(run) / perCluster(top) <= 1.25 } : {}),
      note:
        run.clustersSeeded < top.concurrency * 2
          ? 'too few clusters to keep every lane busy'
          : undefined,
    });
  }
  return figures;
}

export const fleetReconcile: Benchmark = {
  name: 'fleet',
  async run({ smoke, progress }) {
    return fleetFigures(await measureFleet(smoke ? SMOKE : FULL, progress));
  },
};
