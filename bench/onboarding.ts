/**
 * Onboarding critical path under the realistic timing profile: the whole system (functions under
 * functions-framework, direct delivery with Pub/Sub's retry policy, the stand-ins) with every operation taking a
 * drawn typical GCP duration × the scale. A cross-project cluster with workload identity off and two GCE_METADATA
 * node pools is created; the figure is the time from the end of its CreateCluster operation (when GKE writes the
 * last audit entry) to fully onboarded (own workload pool, both pools on GKE_METADATA, a READY membership, the
 * seed namespace), divided by the sum of the operations it had to wait for, as drawn in this run (the workload
 * identity update, each pool's migration, the membership, the MCS feature, the peering update — Spokefleet runs
 * them one after the other). What exceeds 1× is the overshoot: delivery backoff, invocations, polls.
 *
 * API budget: the calls one converged cluster costs per periodic reconcile, measured by reconciling each cluster
 * of a converged fleet as the fan-out does (one `cluster` request per cluster, each its own invocation), per API,
 * set against each API's default per-minute quota for a 250-cluster fleet reconciled every 10 minutes — on
 * average, and in the worst minute, when the fan-out starts every cluster within a minute.
 */
import { startSandbox } from '../sandbox/harness';
import { createCluster, until } from '../sandbox/scenario';
import { createApp } from '../shared/app';
import { createCloud } from '../shared/cloud';
import type { RequestPublisher } from '../shared/cloud/ports';
import type { ReconcileRequest } from '../shared/events/request';
import type { ClusterRef } from '../shared/events/types';
import { type Benchmark, type Figure, ratio, round } from './common';
import { benchConfig, configOf, quietLogger, seedFleet, startWorld } from './world';

/** Operations the onboarding waits for (the arrival of the MCS resources is not part of it). */
const ONBOARDING_OPERATIONS = new Set([
  'clusterUpdate',
  'nodePoolUpdatePerBatch',
  'membershipCreate',
  'featureCreate',
  'peeringUpdate',
]);

export function timeScaleArg(argv: readonly string[] = process.argv, fallback = 0.005): number {
  const at = argv.indexOf('--time-scale');
  return at >= 0 ? Number(argv[at + 1]) : fallback;
}

export const onboarding: Benchmark = {
  name: 'onboarding',
  async run({ progress }) {
    const scale = timeScaleArg();
    const sandbox = await startSandbox({ timing: { profile: 'realistic', scale, seed: 11 } });
    try {
      const r: ClusterRef = { project: 'spokefleet-demo-two', location: 'us-east4', name: 'bench-onboard' };
      const before = sandbox.cloud.faults.counters();
      await createCluster(sandbox, r, {
        network: 'gcp-spoke100-us-east4',
        subnetwork: 'gcp-spoke100-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.48/28' },
        nodePools: ['pool-a', 'pool-b'].map((name) => ({
          name,
          initialNodeCount: 1,
          config: { workloadMetadataConfig: { mode: 'GCE_METADATA' } },
        })),
      });
      const create = sandbox.timing.draws.find((d) => d.kind === 'clusterCreate');
      if (!create) throw new Error('no cluster create was drawn');
      const createdAt = create.at + create.ms;
      const cluster = () =>
        sandbox.cloud.container.store.getCluster(r) as unknown as {
          workloadIdentityConfig?: { workloadPool?: string };
          nodePools: Array<{ config: { workloadMetadataConfig: { mode: string } } }>;
        };
      const member = () =>
        sandbox.cloud.hub.store
          .list()
          .memberships.find((m) => m.endpoint?.gkeCluster?.resourceLink?.endsWith(`/clusters/${r.name}`));
      await until(
        () =>
          cluster().workloadIdentityConfig?.workloadPool === `${r.project}.svc.id.goog` &&
          cluster().nodePools.every((p) => p.config.workloadMetadataConfig.mode === 'GKE_METADATA') &&
          member()?.state.code === 'READY' &&
          sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common') !== undefined,
        'onboarded',
        120_000,
      );
      const onboardedMs = Date.now() - createdAt;
      // Drawn after the create ended: GKE's own peering at creation time is not part of the onboarding.
      const waited = sandbox.timing.draws.filter(
        (d) => d.at >= createdAt - 5 && ONBOARDING_OPERATIONS.has(d.kind),
      );
      const unavoidableMs = waited.reduce((sum, d) => sum + d.ms, 0);
      await sandbox.settle();
      const attempts = [sandbox.auditDelivery, sandbox.reconcileDelivery].flatMap((d) => d?.attempts ?? []);
      const overdue = attempts.filter((a) => a.timedOut).length;
      if (process.env.BENCH_TRACE) {
        for (const a of [...attempts].sort((x, y) => x.startedAt - y.startedAt))
          progress(
            `  attempt ${a.attempt} ${a.messageId.slice(-6)} at +${a.startedAt - createdAt} ms for ${a.durationMs} ms → ${a.status}`,
          );
        for (const d of waited) progress(`  ${d.kind} at +${d.at - createdAt} ms for ${d.ms} ms`);
      }
      // Long writes accepted by the stand-ins (a refused one starts nothing): each should be sent once.
      const sent = (method: string) =>
        (sandbox.cloud.faults.counters()[method]?.calls ?? 0) - (before[method]?.calls ?? 0);
      const started = {
        UpdateCluster: waited.filter((d) => d.kind === 'clusterUpdate').length,
        'memberships.create': waited.filter((d) => d.kind === 'membershipCreate').length,
      };
      progress(`onboarding: ${onboardedMs} ms for ${unavoidableMs} ms of operations (scale ${scale})`);
      const group = `Onboarding critical path (realistic profile × ${scale}; baseline = the operations waited for, as drawn)`;
      const kinds = [...new Set(waited.map((d) => d.kind))]
        .map(
          (k) =>
            `${k} ${waited
              .filter((d) => d.kind === k)
              .map((d) => d.ms)
              .join('+')}`,
        )
        .join(', ');
      return [
        {
          group,
          figure: `last CreateCluster entry → onboarded (WI, 2 pools, membership, namespace); operations: ${kinds} ms`,
          value: onboardedMs,
          unit: 'ms',
          baseline: unavoidableMs,
          ratio: ratio(onboardedMs, unavoidableMs),
          target: '≤ 1.2×',
          met: onboardedMs <= 1.2 * unavoidableMs,
        },
        {
          group,
          figure: `long writes started: UpdateCluster ${started.UpdateCluster}, memberships.create ${started['memberships.create']} (sent, refusals included: UpdateCluster ${sent('container.UpdateCluster')}, UpdateNodePool ${sent('container.UpdateNodePool')})`,
          value: started.UpdateCluster + started['memberships.create'],
          unit: 'operations',
          baseline: 2,
          target: '= 2 (each once)',
          met: started.UpdateCluster === 1 && started['memberships.create'] === 1,
        },
        {
          group,
          figure: 'overshoot: onboarded − operations (backoff, invocations, polls)',
          value: onboardedMs - unavoidableMs,
          unit: 'ms',
        },
        {
          group,
          figure: `delivery attempts (${attempts.filter((a) => a.attempt > 1).length} redeliveries); attempts past the function timeout`,
          value: overdue,
          unit: 'attempts',
          baseline: 0,
          target: '= 0',
          met: overdue === 0,
          note: `${attempts.length} attempts`,
        },
      ];
    } finally {
      await sandbox.stop();
    }
  },
};

/** Default per-minute quotas (see docs/performance.md for the pages), and which calls count against each. */
const QUOTAS = [
  { api: 'GKE API (per project)', perMinute: 3_000, matches: (m: string) => m.startsWith('container.') },
  {
    api: 'Compute reads (*.get, per project)',
    perMinute: 1_500,
    matches: (m: string) => m.startsWith('compute.') && m.endsWith('.get'),
  },
  {
    api: 'Compute lists (*.list, per project)',
    perMinute: 1_500,
    matches: (m: string) => m.startsWith('compute.') && m.endsWith('.list'),
  },
  { api: 'Connect gateway (per fleet)', perMinute: 2_400, matches: (m: string) => m.startsWith('kube.') },
] as const;

const FLEET_SIZE = 250;
const PERIOD_MINUTES = 10;

export const apiBudget: Benchmark = {
  name: 'api-budget',
  async run({ smoke, progress }) {
    const clusters = smoke ? 4 : 40;
    const cloud = await startWorld({ opDelayMs: 1 });
    try {
      const refs = await seedFleet(cloud, {
        clusters,
        servicesPerCluster: 3,
        labelledPerCluster: 1,
        driftEvery: 0,
      });
      const config = configOf({ ...benchConfig(cloud), fanOut: { clustersPerMinute: 60_000 } });
      const log = quietLogger('warning');
      // The fleet request fans out as in production: its invocation reconciles the members' exports and publishes
      // one cluster request per cluster, each then delivered to an invocation of its own (in process, one by one).
      const published: ReconcileRequest[] = [];
      const publisher: RequestPublisher = {
        topic: 'projects/bench/topics/reconcile',
        async publish(requests) {
          published.push(...(requests as ReconcileRequest[]));
          return requests.map((_, i) => ({ messageId: String(published.length + i) }));
        },
      };
      const app = createApp(config, { log, cloud: createCloud(config, log), publisher });
      // A request that would be redelivered throws: the counted request must not (the converging one may).
      const fleetRequest = async (tolerate: boolean) => {
        const deliver = (request: ReconcileRequest) =>
          app.onReconcileRequest(request, log).catch((error: unknown) => {
            if (!tolerate) throw error;
          });
        published.length = 0;
        await deliver({ scope: 'fleet' });
        for (const request of [...published]) await deliver(request);
        if (published.length !== refs.length)
          throw new Error(`the fan-out published ${published.length} of ${refs.length} requests`);
      };
      // One request converges the seeded fleet (and warms the clients and the project-number cache): the seeded
      // exports need not respect the MCS limits or carry this deployment's owner, so it may still write. The second
      // is the periodic reconcile of a converged fleet, the one counted.
      await fleetRequest(true);
      cloud.faults.resetCounters();
      await fleetRequest(false);
      const counted = refs.length;
      const counters = cloud.faults.counters();
      const writes = Object.values(counters)
        .filter((c) => c.kind === 'write')
        .reduce((s, c) => s + c.calls, 0);
      const perCluster = (matches: (m: string) => boolean) =>
        Object.entries(counters)
          .filter(([m]) => matches(m))
          .reduce((s, [, c]) => s + c.calls, 0) / counted;
      const all = perCluster(() => true);
      progress(`api-budget: ${round(all)} calls per converged cluster over ${counted} clusters`);
      const group = `API budget (${FLEET_SIZE} converged clusters every ${PERIOD_MINUTES} min, fanned out; calls measured over ${counted} clusters)`;
      const byMethod = Object.entries(counters)
        .map(([m, c]) => `${m} ${round(c.calls / counted)}`)
        .join(', ');
      const figures: Figure[] = [
        {
          group,
          figure: `calls per converged cluster per reconcile (${byMethod}; ${writes} writes)`,
          value: round(all),
          unit: 'calls',
        },
      ];
      for (const quota of QUOTAS) {
        const calls = perCluster(quota.matches);
        const average = (calls * FLEET_SIZE) / PERIOD_MINUTES;
        // The fan-out publishes every cluster within its first minute at the default pace (300 per minute).
        const worst = calls * FLEET_SIZE;
        figures.push(
          {
            group,
            figure: `${quota.api}: average share of ${quota.perMinute}/min (${round(calls)} calls per cluster)`,
            value: round((average / quota.perMinute) * 100, 1),
            unit: '%',
            target: '≤ 10 %',
            met: average <= quota.perMinute * 0.1,
          },
          {
            group,
            figure: `${quota.api}: worst minute (every cluster started in one minute)`,
            value: round((worst / quota.perMinute) * 100, 1),
            unit: '%',
            target: '≤ 100 %',
            met: worst <= quota.perMinute,
          },
        );
      }
      return figures;
    } finally {
      await cloud.close();
    }
  },
};
