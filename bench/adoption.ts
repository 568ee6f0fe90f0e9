/**
 * Fleet adoption under the realistic timing profile: the whole system (functions under functions-framework, direct
 * delivery with Pub/Sub's retry policy, the stand-ins) with a fleet of clusters — the most one fleet holds with
 * global memberships — of which one in five needs full onboarding (workload identity off, a GCE_METADATA node
 * pool, no membership) and the rest are converged. One `fleet` reconcile request is sent; the figure is the time
 * until every cluster is onboarded, divided by the longest chain of operations one cluster had to wait for, as
 * drawn in this run (its workload identity update, its pool's migration, its membership — one after the other).
 *
 * Beside it, the same request without fan-out (no `reconcileTopic`): one invocation reconciles every cluster, so
 * it cannot see the operations through before its deadline and the rest is left to redeliveries; it is capped.
 *
 * Every cluster reaches its control plane over Private Service Connect (no peering): peering changes on one VPC
 * are applied one at a time, which would make the shared spoke VPC, not a cluster, the longest chain.
 */

import type { DeliveryAttempt } from '../sandbox/audit/delivery';
import { type Sandbox, startSandbox } from '../sandbox/harness';
import { until } from '../sandbox/scenario';
import { DELIVERY, type Draw } from '../sandbox/timing';
import type { ClusterRef } from '../shared/events/types';
import { type Benchmark, type Figure, ratio } from './common';
import { timeScaleArg } from './onboarding';
import {
  clusterRef,
  clusterSpec,
  NAMESPACE,
  putNamespace,
  SPOKES,
  seedFeature,
  seedMembership,
} from './world';

const DEPLOYED_IN_FLIGHT = DELIVERY.reconcile.maxInstances * DELIVERY.reconcile.requestConcurrency;

/**
 * The default time scale of this benchmark. At × 0.005 the fixed CPU cost of 250 reconciles (not scaled: cold
 * starts, reads, TLS), all in one process on a shared machine, outweighs the scaled operations; × 0.02 weighs it 4×
 * less (docs/performance.md, "Fleet adoption").
 */
const DEFAULT_SCALE = 0.02;

/** Operations one onboarding cluster waits for, one after the other. */
const CHAIN = new Set(['clusterUpdate', 'nodePoolUpdatePerBatch', 'membershipCreate']);

interface Run {
  wallMs: number;
  /** Longest single-cluster chain of operations drawn in the run (ms). */
  chainMs: number;
  chainOf: string;
  /** For the longest-chain cluster: request → its first operation drawn, and its last operation's end → all onboarded. */
  startMs: number;
  tailMs: number;
  onboarded: number;
  attempts: number;
  redeliveries: number;
  overdue: number;
  /** Requests the delivery gave up on after the retry policy's last attempt. */
  deadLettered: number;
  updateClusters: number;
  capped: boolean;
  /** Fan-out: cluster requests published, and of them acknowledged (their reconcile ended successfully). */
  published: number;
  acknowledged: number;
}

async function adopt(options: {
  clusters: number;
  scale: number;
  fanOut: boolean;
  capMs: number;
  progress: (line: string) => void;
}): Promise<Run> {
  const sandbox: Sandbox = await startSandbox({
    timing: { profile: 'realistic', scale: options.scale, seed: 13 },
    // As deployed: the reconcile function's instances × requests per instance (BENCH_IN_FLIGHT overrides it). Each
    // onboarding cluster holds a slot for whole invocations while it waits for its operations.
    reconcileInFlight: Number(process.env.BENCH_IN_FLIGHT ?? DEPLOYED_IN_FLIGHT),
    // Without fan-out, the production default of clusters reconciled at once in one invocation.
    config: options.fanOut ? {} : { reconcileTopic: undefined, concurrency: 8 },
  });
  try {
    const refs = Array.from({ length: options.clusters }, (_, i) =>
      clusterRef(`adopt-${String(i).padStart(4, '0')}`),
    );
    const onboarding = refs.filter((_, i) => i % 5 === 0);
    const fresh = new Set(onboarding.map((r) => r.name));
    await seedFeature(sandbox.cloud);
    for (const [i, ref] of refs.entries()) {
      const network = SPOKES[i % SPOKES.length];
      if (fresh.has(ref.name)) {
        await sandbox.cloud.container.store.seedCluster(ref, {
          ...clusterSpec({ network }),
          initialNodeCount: undefined,
          nodePools: [
            {
              name: 'pool-a',
              initialNodeCount: 1,
              config: { workloadMetadataConfig: { mode: 'GCE_METADATA' } },
            },
          ],
        });
      } else {
        await sandbox.cloud.container.store.seedCluster(
          ref,
          clusterSpec({ network, workloadIdentity: true }),
        );
        seedMembership(sandbox.cloud, ref);
        putNamespace(sandbox.cloud, ref);
      }
    }
    const done = (r: ClusterRef) => {
      const c = sandbox.cloud.container.store.getCluster(r) as unknown as {
        workloadIdentityConfig?: { workloadPool?: string };
        nodePools: Array<{ config: { workloadMetadataConfig?: { mode: string } } }>;
      };
      return (
        c.workloadIdentityConfig?.workloadPool === `${r.project}.svc.id.goog` &&
        c.nodePools.every((p) => p.config.workloadMetadataConfig?.mode === 'GKE_METADATA') &&
        sandbox.cloud.hub.store.list().memberships.find((m) => m.name.endsWith(`/memberships/${r.name}`))
          ?.state.code === 'READY' &&
        sandbox.cloud.kube(r).api.store.get('namespaces', undefined, NAMESPACE) !== undefined
      );
    };
    // Each message the reconcile delivery accepts (the fleet request, then the cluster requests the fan-out
    // publishes), by id: when it was published and which cluster it names.
    const accepted = new Map<string, { at: number; cluster?: string }>();
    const delivery = sandbox.reconcileDelivery;
    if (delivery) {
      const accept = delivery.accept.bind(delivery);
      delivery.accept = (message) => {
        const request = JSON.parse(message.data.toString()) as { cluster?: string };
        accepted.set(message.messageId, { at: Date.now(), cluster: request.cluster });
        return accept(message);
      };
    }
    const drawsBefore = sandbox.timing.draws.length;
    const started = Date.now();
    await sandbox.requestReconcile({ scope: 'fleet' });
    let capped = false;
    try {
      await until(() => onboarding.every(done), 'every cluster onboarded', options.capMs);
    } catch {
      capped = true;
    }
    const wallMs = Date.now() - started;
    const onboarded = onboarding.filter(done).length;
    // The last invocations answer after their cluster is onboarded (the steps after the namespace): wait for the
    // fanned-out deliveries to settle, at most a function timeout, before counting acknowledgements.
    if (options.fanOut && !capped && sandbox.reconcileDelivery) {
      const timeoutMs = DELIVERY.functionTimeoutMs * options.scale;
      await Promise.race([
        sandbox.reconcileDelivery.idle(),
        new Promise((resolve) => setTimeout(resolve, timeoutMs)),
      ]);
    }
    const chains = new Map<string, number>();
    const nameOf = (target: string) => target.split('/').pop() ?? '';
    const drawn = sandbox.timing.draws.slice(drawsBefore).filter((d) => CHAIN.has(d.kind) && d.target);
    for (const d of drawn)
      chains.set(nameOf(d.target ?? ''), (chains.get(nameOf(d.target ?? '')) ?? 0) + d.ms);
    const [chainOf, chainMs] = [...chains.entries()].reduce((a, b) => (b[1] > a[1] ? b : a), ['none', 0]);
    const own = drawn.filter((d) => nameOf(d.target ?? '') === chainOf);
    const startMs = own.length ? Math.min(...own.map((d) => d.at)) - started : 0;
    const tailMs = own.length ? started + wallMs - Math.max(...own.map((d) => d.at + d.ms)) : 0;
    const attempts = [...(sandbox.reconcileDelivery?.attempts ?? [])];
    const clusterMessages = [...accepted.entries()].filter(([, m]) => m.cluster).map(([id]) => id);
    const acked = new Set(attempts.filter((a) => a.acked).map((a) => a.messageId));
    if (process.env.BENCH_TRACE)
      trace(options.progress, { started, accepted, attempts, drawn, chainOf, fresh });
    const updateClusters = sandbox.timing.draws
      .slice(drawsBefore)
      .filter((d) => d.kind === 'clusterUpdate').length;
    options.progress(
      `fleet-adoption (${options.fanOut ? 'fan-out' : 'one invocation'}): ${onboarded}/${onboarding.length} onboarded in ${wallMs} ms${capped ? ' (capped)' : ''}; longest chain ${chainMs} ms (${chainOf}); ${attempts.length} attempts`,
    );
    return {
      wallMs,
      chainMs,
      chainOf,
      startMs,
      tailMs,
      onboarded,
      attempts: attempts.length,
      redeliveries: attempts.filter((a) => a.attempt > 1).length,
      overdue: attempts.filter((a) => a.timedOut).length,
      deadLettered: sandbox.reconcileDelivery?.deadLettered.length ?? 0,
      updateClusters,
      capped,
      published: clusterMessages.length,
      acknowledged: clusterMessages.filter((id) => acked.has(id)).length,
    };
  } finally {
    await sandbox.stop();
  }
}

/**
 * BENCH_TRACE: where the start of each onboarding cluster goes — request → the fan-out publishes its cluster
 * request → the delivery POSTs it (after waiting for a free slot) → its first operation starts — for the
 * longest-chain cluster, and the spread over all of them.
 */
function trace(
  progress: (line: string) => void,
  run: {
    started: number;
    accepted: Map<string, { at: number; cluster?: string }>;
    attempts: DeliveryAttempt[];
    drawn: Draw[];
    chainOf: string;
    fresh: Set<string>;
  },
): void {
  const t = (at: number | undefined) => (at === undefined ? '-' : `+${at - run.started}`);
  const fleet = [...run.accepted.entries()].find(([, m]) => m.cluster === undefined);
  const fleetAttempts = run.attempts.filter((a) => a.messageId === fleet?.[0]);
  for (const a of fleetAttempts)
    progress(
      `  fleet request attempt ${a.attempt}: posted ${t(a.postedAt)} ms, answered after ${a.durationMs - (a.postedAt - a.startedAt)} ms → ${a.status}`,
    );
  const published = [...run.accepted.values()].filter((m) => m.cluster !== undefined).map((m) => m.at);
  if (published.length)
    progress(
      `  ${published.length} cluster requests published from ${t(Math.min(...published))} to ${t(Math.max(...published))} ms`,
    );
  const rows = [...run.accepted.entries()]
    .filter(([, m]) => m.cluster && run.fresh.has(m.cluster))
    .map(([id, m]) => {
      const own = run.attempts.filter((a) => a.messageId === id).sort((x, y) => x.attempt - y.attempt);
      const ops = run.drawn.filter((d) => d.target?.endsWith(`/${m.cluster}`)).sort((x, y) => x.at - y.at);
      const opsEnd = ops.length ? Math.max(...ops.map((d) => d.at + d.ms)) : undefined;
      return { cluster: m.cluster ?? '', published: m.at, first: own[0], own, ops, opsEnd };
    })
    .sort((x, y) => x.published - y.published);
  for (const r of rows) {
    const queued = r.first ? r.first.postedAt - r.first.startedAt : undefined;
    progress(
      `  ${r.cluster === run.chainOf ? '*' : ' '}${r.cluster}: published ${t(r.published)}, first POST ${t(r.first?.postedAt)} (queued ${queued ?? '-'} ms), first op ${t(r.ops[0]?.at)}, ops end ${t(r.opsEnd)}; attempts ${r.own
        .map((a) => `${t(a.postedAt)}/${a.durationMs - (a.postedAt - a.startedAt)}ms→${a.status}`)
        .join(' ')}; ops ${r.ops.map((d) => `${d.kind}@${t(d.at)}/${d.ms}`).join(' ')}`,
    );
  }
}

export const fleetAdoption: Benchmark = {
  name: 'fleet-adoption',
  smoke: false,
  async run({ smoke, progress }) {
    const scale = timeScaleArg(process.argv, DEFAULT_SCALE);
    const clusters = smoke ? 10 : 250;
    const onboarding = Math.ceil(clusters / 5);
    const fanned = await adopt({ clusters, scale, fanOut: true, capMs: 120_000, progress });
    const group = `Fleet adoption (${clusters} clusters, ${onboarding} onboarding; realistic profile × ${scale}; baseline = the longest single-cluster chain of operations, as drawn)`;
    const figures: Figure[] = [
      {
        group,
        figure: `fleet request fanned out → every cluster onboarded (${fanned.onboarded}/${onboarding}; longest chain: ${fanned.chainOf})`,
        value: fanned.wallMs,
        unit: 'ms',
        baseline: fanned.chainMs,
        ratio: ratio(fanned.wallMs, fanned.chainMs),
        target: '≤ 1.5×',
        met: !fanned.capped && fanned.wallMs <= 1.5 * fanned.chainMs,
      },
      {
        group,
        figure: `fanned out, longest-chain cluster: request → its first operation started; its last operation ended → every cluster onboarded`,
        value: fanned.startMs,
        unit: 'ms',
        note: `then ${fanned.tailMs} ms`,
      },
      {
        group,
        figure: `fanned out: delivery attempts (${fanned.redeliveries} redeliveries); attempts past the function timeout`,
        value: fanned.overdue,
        unit: 'attempts',
        baseline: 0,
        target: '= 0',
        met: fanned.overdue === 0,
        note: `${fanned.attempts} attempts, ${fanned.deadLettered} dead-lettered, UpdateCluster started ${fanned.updateClusters}× for ${onboarding} clusters`,
      },
      {
        group,
        figure: `fanned out: cluster requests acknowledged once the deliveries settled (at most a function timeout later), of ${fanned.published} published`,
        value: fanned.acknowledged,
        unit: 'requests',
        baseline: clusters,
        target: `= ${clusters}`,
        met: fanned.acknowledged === clusters && fanned.published === clusters,
      },
    ];
    // Without fan-out: capped at 3× the fanned-out chain (at least 30 s), twice the 1.5× target.
    const capMs = Math.max(30_000, 3 * fanned.chainMs);
    // BENCH_FANOUT_ONLY: skip the run without fan-out (most of this benchmark's time), when tuning the fan-out.
    if (process.env.BENCH_FANOUT_ONLY) return figures;
    const single = await adopt({ clusters, scale, fanOut: false, capMs, progress });
    figures.push({
      group,
      figure: `same request without fan-out (one invocation, concurrency 8, then redeliveries)${single.capped ? `: NOT finished, capped at ${capMs} ms with ${single.onboarded}/${onboarding} onboarded` : ` (${single.onboarded}/${onboarding}; longest chain: ${single.chainOf})`}; baseline: its own run's longest chain`,
      value: single.wallMs,
      unit: 'ms',
      baseline: single.chainMs,
      ratio: ratio(single.wallMs, single.chainMs),
      note: `${single.attempts} attempts of the retry policy's ${DELIVERY.reconcile.maxDeliveryAttempts}, ${single.redeliveries} redeliveries, ${single.overdue} past the function timeout, ${single.deadLettered} dead-lettered`,
    });
    return figures;
  },
};
