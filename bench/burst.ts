/**
 * Burst: every Service in 50 clusters (40 each, 2,000) gets an audit event at the same moment, delivered to one
 * instance by a push delivery with 100 outstanding messages and redelivery on failure (bench/burst-worker.ts),
 * while the Kubernetes APIs rate-limit: one token bucket over every `kube.*` call, like an API server's priority
 * and fairness answering 429. GKE and Hub calls are not limited.
 *
 * Each cluster labels 3 of its Services for export, 30 names × 5 clusters: at GKE's MCS limit of 5 clusters per
 * Service (limits left at their defaults), so all 150 exports are allowed and none may be refused; every creating
 * event reads the fleet-wide view twice (before, and after to catch a concurrent export), 2 × 50 lists. The
 * other 1,850 events find an unlabelled Service and write nothing. The rate is set below what this machine can
 * serve (about 1,500 calls/s with the stand-ins and the instance on 2 cores), so the limit, not the CPU, paces.
 *
 * Figures: convergence (every labelled Service has its export, nothing else has one, every message acknowledged,
 * none dead-lettered), the 429s the stand-ins answered against the redeliveries they caused, and the wall time
 * against the rate-limit bound = (served Kubernetes calls − bucket size) ÷ rate: a token bucket serves no more.
 */
import { bundledWorker } from './bundle';
import type { BurstResult, BurstWorkerInput } from './burst-worker';
import { type Benchmark, type Figure, ratio, round, Worker } from './common';
import {
  benchConfig,
  callsSince,
  NAMESPACE,
  putService,
  REGION,
  seedFleet,
  startTlsGateway,
  startWorld,
  type TlsGateway,
} from './world';

export interface BurstSize {
  clusters: number;
  servicesPerCluster: number;
  labelledPerCluster: number;
  /** Distinct exported names: each is labelled in clusters × labelled ÷ names clusters. */
  names: number;
  rate: { perSecond: number; burst: number };
  outstanding: number;
}

export const FULL: BurstSize = {
  clusters: 50,
  servicesPerCluster: 40,
  labelledPerCluster: 3,
  names: 30,
  rate: { perSecond: 600, burst: 100 },
  outstanding: 100,
};

export const SMOKE: BurstSize = {
  clusters: 4,
  servicesPerCluster: 6,
  labelledPerCluster: 2,
  names: 4,
  rate: { perSecond: 100, burst: 10 },
  outstanding: 10,
};

export interface BurstRun extends BurstResult {
  size: BurstSize;
  exported: { labelled: number; withExport: number; strayExports: number };
  kube: { served: number; rateLimited: number; reads: number; writes: number };
  otherCalls: number;
  boundMs: number;
}

const pad = (i: number, width = 3) => String(i).padStart(width, '0');

export async function measureBurst(size: BurstSize, progress: (line: string) => void): Promise<BurstRun> {
  const cloud = await startWorld();
  let gateway: TlsGateway | undefined;
  let worker: Worker | undefined;
  try {
    const refs = await seedFleet(cloud, {
      clusters: size.clusters,
      servicesPerCluster: 0,
      labelledPerCluster: 0,
      driftEvery: 0,
      prefix: 'burst',
    });
    const services: Record<string, string[]> = {};
    const labelled = new Map<string, Set<string>>();
    for (const [i, ref] of refs.entries()) {
      const mine = new Set(
        Array.from(
          { length: size.labelledPerCluster },
          (_, k) => `svc-${pad((i * size.labelledPerCluster + k) % size.names)}`,
        ),
      );
      labelled.set(ref.name, mine);
      const names = [...mine];
      for (let s = names.length; s < size.servicesPerCluster; s++) names.push(`app-${pad(s)}`);
      for (const name of names) putService(cloud, ref, name, mine.has(name));
      services[ref.name] = names;
    }
    gateway = await startTlsGateway(cloud);
    const config = benchConfig(cloud, { concurrency: 8 });
    config.endpoints = { ...config.endpoints, connectGateway: `${gateway.url}/{location}` };
    const input: BurstWorkerInput = {
      config,
      project: refs[0].project,
      location: REGION,
      namespace: NAMESPACE,
      services,
      outstanding: size.outstanding,
      backoffMs: { min: 100, max: 2_000 },
      maxDeliveries: 20,
    };
    worker = new Worker([await bundledWorker('bench/burst-worker.ts')], input, {
      NODE_EXTRA_CA_CERTS: gateway.caFile,
    });
    await worker.next('ready');
    cloud.faults.setRule('kube.*', { rateLimit: size.rate });
    const before = cloud.faults.counters();
    worker.go();
    const result = JSON.parse(await worker.next('done', 600_000)) as BurstResult;
    const calls = callsSince(cloud, before);
    if (process.env.BENCH_DEBUG) progress(JSON.stringify(calls.byMethod));
    const kube = { served: 0, rateLimited: 0, reads: 0, writes: 0 };
    for (const [method, c] of Object.entries(calls.byMethod)) {
      if (!method.startsWith('kube.')) continue;
      kube.served += c.calls;
      if (c.kind === 'read') kube.reads += c.calls;
      else kube.writes += c.calls;
    }
    const now = cloud.faults.counters();
    for (const [method, c] of Object.entries(now)) {
      if (method.startsWith('kube.')) kube.rateLimited += c.faults - (before[method]?.faults ?? 0);
    }
    let withExport = 0;
    let strayExports = 0;
    for (const ref of refs) {
      const store = cloud.kube(ref).api.store;
      const mine = labelled.get(ref.name) ?? new Set();
      for (const e of store.list('serviceexports', NAMESPACE)) {
        if (mine.has(e.metadata.name ?? '')) withExport++;
        else strayExports++;
      }
    }
    const boundMs = (Math.max(0, kube.served - size.rate.burst) / size.rate.perSecond) * 1000;
    const run: BurstRun = {
      ...result,
      size,
      exported: { labelled: size.clusters * size.labelledPerCluster, withExport, strayExports },
      kube,
      otherCalls: calls.reads + calls.writes - kube.served,
      boundMs,
    };
    progress(
      `burst: ${result.messages} events in ${Math.round(result.wallMs)} ms, ${kube.served} Kubernetes calls served, ${kube.rateLimited} answered 429, ${result.redeliveries} redeliveries`,
    );
    return run;
  } finally {
    await worker?.close();
    await gateway?.close();
    await cloud.close();
  }
}

export function burstFigures(r: BurstRun): Figure[] {
  const s = r.size;
  const group = `Burst (${r.messages} Service events over ${s.clusters} clusters, ${s.outstanding} outstanding, Kubernetes rate limit ${s.rate.perSecond}/s, bucket ${s.rate.burst})`;
  const converged =
    r.exported.withExport === r.exported.labelled && r.exported.strayExports === 0 && r.acked === r.messages;
  return [
    {
      group,
      figure: `wall time vs rate-limit bound = (${r.kube.served} served Kubernetes calls − ${s.rate.burst}) ÷ ${s.rate.perSecond}/s`,
      value: Math.round(r.wallMs),
      unit: 'ms',
      baseline: Math.round(r.boundMs),
      ratio: ratio(r.wallMs, r.boundMs),
      target: '≤ 1.25×',
      met: r.wallMs / r.boundMs <= 1.25,
    },
    {
      group,
      figure: `labelled Services with their export (${r.exported.strayExports} exports elsewhere)`,
      value: r.exported.withExport,
      unit: 'Services',
      baseline: r.exported.labelled,
      target: 'all, none elsewhere',
      met: r.exported.withExport === r.exported.labelled && r.exported.strayExports === 0,
    },
    {
      group,
      figure: `messages acknowledged (${r.deadLettered} dead-lettered)`,
      value: r.acked,
      unit: 'messages',
      baseline: r.messages,
      target: 'all',
      met: r.acked === r.messages && r.deadLettered === 0,
    },
    {
      group,
      figure: `calls answered 429, all retried to success (in process, or by ${r.redeliveries} redeliveries)`,
      value: r.kube.rateLimited,
      unit: 'calls',
      target: 'every one retried',
      met: converged,
    },
    {
      group,
      figure: `Kubernetes calls per event (${r.kube.reads} reads, ${r.kube.writes} writes; ${r.otherCalls} GKE/Hub calls)`,
      value: round(r.kube.served / r.messages, 2),
      unit: 'calls',
    },
    { group, figure: 'peak RSS of the instance', value: Math.round(r.maxRssMiB), unit: 'MiB' },
  ];
}

export const burst: Benchmark = {
  name: 'burst',
  async run({ smoke, progress }) {
    return burstFigures(await measureBurst(smoke ? SMOKE : FULL, progress));
  },
};
