/**
 * One function instance running fleet reconcile requests (bench/fleet.ts starts it): the production app on the
 * real client libraries, pointed at the parent's local cloud. It warms up on one cluster (client libraries load,
 * channels connect: a cold start is not what this benchmark measures), then runs each job when the parent says
 * go, and reports wall time and, at the end, its peak RSS.
 */
import { writeHeapSnapshot } from 'node:v8';
import { createApp } from '../shared/app';
import { createCloud } from '../shared/cloud';
import { type ConfigInput, parseConfig } from '../shared/config';
import type { ReconcileRequest } from '../shared/events/request';
import { countOutcomes } from '../shared/reconcile/action';
import { done, quietLogger, readyFor, workerInput } from './common';

export interface FleetJob {
  name: string;
  concurrency: number;
  request: ReconcileRequest;
}

export interface FleetWorkerInput {
  config: ConfigInput;
  warmup: ReconcileRequest;
  jobs: FleetJob[];
}

export interface FleetJobResult {
  name: string;
  wallMs: number;
  /** CPU time (user + system) this process spent on the job, ms. */
  cpuMs: number;
  clusters: number;
  outcomes: Record<string, number>;
  failed: string[];
  /** Peak RSS of this process so far, MiB (process.resourceUsage().maxRSS). */
  maxRssMiB: number;
  /** Peak RSS once warmed up (every client library loaded, one cluster reconciled), MiB. */
  warmRssMiB: number;
  logLines: number;
}

async function main(): Promise<void> {
  const input = workerInput<FleetWorkerInput>();
  const base = parseConfig(input.config);
  const log = quietLogger('info');
  // One set of clients for every job, as one instance has; each job's app only changes the concurrency.
  const cloud = createCloud(base, log);
  const appFor = (concurrency: number) => createApp({ ...base, concurrency }, { log, cloud });
  await appFor(1).onReconcileRequest(input.warmup, log);
  const warmRssMiB = process.resourceUsage().maxRSS / 1024;
  for (const job of input.jobs) {
    await readyFor(job.name);
    const app = appFor(job.concurrency);
    const started = performance.now();
    const cpu = process.cpuUsage();
    let records: Awaited<ReturnType<typeof app.onReconcileRequest>>['records'] = [];
    let clusters = 0;
    try {
      const result = await app.onReconcileRequest(job.request, log);
      records = result.records;
      clusters = result.clusters;
    } catch (error) {
      // A transient failure the framework would answer 500 for: reported, not hidden.
      records = [
        {
          step: 'spoke',
          target: 'request',
          outcome: 'failed',
          reason: String(error),
          dryRun: false,
          durationMs: 0,
        },
      ];
    }
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const result: FleetJobResult = {
      name: job.name,
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      clusters,
      outcomes: countOutcomes(records),
      failed: records.filter((r) => r.outcome === 'failed').map((r) => `${r.step} ${r.target}: ${r.reason}`),
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      warmRssMiB,
      logLines: log.lines(),
    };
    if (process.env.BENCH_DEBUG) debugMemory(job.name);
    done(result);
  }
}

/** BENCH_DEBUG: memory before and after a full GC (the worker runs with --expose-gc), and a heap snapshot. */
function debugMemory(job: string): void {
  const before = process.memoryUsage();
  (globalThis as { gc?: () => void }).gc?.();
  if (process.env.BENCH_HEAPSNAPSHOT)
    writeHeapSnapshot(`${process.env.BENCH_HEAPSNAPSHOT}-${job}.heapsnapshot`);
  process.stderr.write(`${job}: ${JSON.stringify({ before, after: process.memoryUsage() })}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
