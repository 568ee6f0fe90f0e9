/**
 * One function instance running fleet reconcile requests (bench/fleet.ts starts it): the production app on the
 * real client libraries, pointed at the parent's local cloud. It warms up on one cluster (client libraries load,
 * channels connect: a cold start is not what this benchmark measures), then runs each job when the parent says
 * go, and reports wall time and, at the end, its peak RSS.
 */
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
    let records: Awaited<ReturnType<typeof app.onReconcileRequest>>['records'] = [];
    let clusters = 0;
    try {
      const result = await app.onReconcileRequest(job.request, log);
      records = result.records;
      clusters = result.clusters;
    } catch (error) {
      // A transient failure the framework would answer 500 for: reported, not hidden.
      records = [{ step: 'spoke', target: 'request', outcome: 'failed', reason: String(error), dryRun: false, durationMs: 0 }];
    }
    const wallMs = performance.now() - started;
    const result: FleetJobResult = {
      name: job.name,
      wallMs,
      clusters,
      outcomes: countOutcomes(records),
      failed: records.filter((r) => r.outcome === 'failed').map((r) => `${r.step} ${r.target}: ${r.reason}`),
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      warmRssMiB,
      logLines: log.lines(),
    };
    done(result);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
