/**
 * API economy: the reads and writes each kind of event costs, counted by the stand-ins (FaultInjector counters,
 * served calls only), next to the minimum each step implies. One app instance handles the events in order, as a
 * warm function instance would; the benchmark's own setup goes straight into the stand-ins' stores, so nothing
 * needs subtracting: every counted call is Spokefleet's.
 *
 * Long-running operations: each LRO write needs at least one poll (GetOperation, hub operations.get, compute
 * globalOperations.wait) to see it finish. Polls are counted as reads but shown apart, with a minimum of one per
 * LRO; more polls only mean the stand-in's operation was not done at the first poll (timing, not waste).
 */
import { until } from '../sandbox/scenario';
import { createApp } from '../shared/app';
import { createCloud } from '../shared/cloud';
import type { Benchmark, Figure } from './common';
import {
  auditCloudEvent,
  benchConfig,
  type CallCounts,
  callsSince,
  clusterCreatedEntry,
  clusterRef,
  configOf,
  deliver,
  NON_SPOKE,
  putService,
  quietLogger,
  seedCluster,
  seedFleet,
  servicePatchedEntry,
  startWorld,
} from './world';

const POLLS = new Set(['container.GetOperation', 'gkehub.operations.get', 'compute.globalOperations.wait']);

/** The minimum per event kind, per method (reads without LRO polls), and the LROs it must start. */
interface Minimum {
  reads: Record<string, number>;
  writes: Record<string, number>;
  /** LRO writes among `writes`: each needs ≥ 1 poll. */
  lros: number;
  why: string;
}

/** Member clusters in the fleet when the Service events run (the fleet-wide export view lists each once). */
const MEMBERS = 2;

const CLUSTER_READS = {
  'container.GetCluster': 1, // project, network, VPC-native, workload pool, peering name
  'gkehub.memberships.list': 1, // the fleet's memberships (once per invocation)
  'gkehub.features.get': 1, // the MCS feature
  'compute.networks.get': 1, // (peering-based control plane)
  'kube.namespaces.get': 1, // one per seed namespace
  'kube.services.list': 1, // labelled Services (label selector)
  'kube.serviceexports.list': 1, // exports to keep or delete
};
const SERVICE_READS = {
  'container.GetCluster': 1, // the Service's cluster: spoke and membership
  'gkehub.memberships.list': 1, // the membership the Connect gateway addresses
  'kube.services.get': 1, // level-based: the Service as it is now
  'kube.serviceexports.get': 1, // and its export
};
/** The export's health: its namespace and the ServiceImports in each member, and the Event it last recorded. */
const HEALTH_READS = {
  'kube.namespaces.get': MEMBERS,
  'kube.serviceimports.list': MEMBERS,
  'kube.events.list': 1, // the cluster's ExportHealth Events, once per invocation
};

export const MINIMUMS: Record<string, Minimum> = {
  'spoke cluster created': {
    reads: {
      ...CLUSTER_READS,
      'resourcemanager.projects.get': 1,
      // Before a write, the operations already running on its target (an earlier invocation's are waited for):
      'container.ListOperations': 2, // the WI step, then the node-pool step (once for all its pools)
      'compute.globalOperations.list': 1, // the peering step
      // ...and the target read again after that list (an operation may have ended between the two):
      'container.GetCluster': 3, // admission, the WI step, the node-pool step
      'compute.networks.get': 2, // the peering read, then again before the write
    },
    writes: {
      'container.UpdateCluster': 1,
      'container.UpdateNodePool': 1, // its one node pool onto the GKE metadata server
      'gkehub.memberships.create': 1,
      'gkehub.features.create': 1,
      'compute.networks.updatePeering': 1,
      'kube.namespaces.create': 1,
    },
    lros: 5,
    why: 'every step reads once; WI, node pool, membership, MCS feature (first cluster), peering, namespace written, each GKE and peering write after listing running operations; projects.get once per instance (Connect gateway needs the project number)',
  },
  'same event redelivered': {
    reads: CLUSTER_READS,
    writes: {},
    lros: 0,
    why: 'every step reads once, nothing written',
  },
  'non-spoke cluster created': {
    reads: { 'container.GetCluster': 1 },
    writes: {},
    lros: 0,
    why: 'the spoke check needs the cluster network; not a spoke → nothing else',
  },
  'Service labelled': {
    reads: {
      ...SERVICE_READS,
      'kube.endpointslices.list': 1, // ready endpoints
      // The fleet-wide view, one list per member cluster; then, after the create, every member again: exports made
      // at the same time by other invocations are only in a fresh read (docs/reliability.md).
      'kube.serviceexports.list': 2 * MEMBERS,
      'kube.serviceexports.get': 2, // + the read-back of its conditions (docs/decisions.md)
      // With several allowed projects, the cross-project check is made again after the create against the members
      // read again (a cluster onboarded concurrently may have joined): a second list, by design.
      'gkehub.memberships.list': 2,
      ...HEALTH_READS,
    },
    writes: { 'kube.serviceexports.create': 1, 'kube.events.create': 1 },
    lros: 0,
    why: `Service + export, endpoints, fleet view (${MEMBERS} member clusters), create, the limits re-checked against the fleet and its members read again, read-back, health (namespace + import per member), its first ExportHealth Event`,
  },
  'Service event redelivered': {
    reads: { ...SERVICE_READS, ...HEALTH_READS },
    writes: {},
    lros: 0,
    why: 'Service + export read, already exported; health read again, unchanged, so no Event',
  },
  'Service unlabelled': {
    reads: SERVICE_READS,
    writes: { 'kube.serviceexports.delete': 1 },
    lros: 0,
    why: 'Service + export read, managed export deleted',
  },
};

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

export interface EconomyRow {
  event: string;
  counts: CallCounts;
  reads: number;
  polls: number;
  writes: number;
  minimum: Minimum;
  /** Methods read more often than the minimum says (a redundant read), or written when they should not be. */
  excess: string[];
}

export function compare(event: string, counts: CallCounts): EconomyRow {
  const minimum = MINIMUMS[event];
  let reads = 0;
  let polls = 0;
  let writes = 0;
  const excess: string[] = [];
  for (const [method, { kind, calls }] of Object.entries(counts.byMethod)) {
    if (POLLS.has(method)) {
      polls += calls;
      continue;
    }
    if (kind === 'read') reads += calls;
    else writes += calls;
    const allowed = (kind === 'read' ? minimum.reads : minimum.writes)[method] ?? 0;
    if (calls > allowed) excess.push(`${method} ×${calls} (minimum ${allowed})`);
  }
  return { event, counts, reads, polls, writes, minimum, excess };
}

/** Runs the six events against one app instance and returns their counts. */
export async function measureEconomy(): Promise<EconomyRow[]> {
  const cloud = await startWorld();
  try {
    const spoke = clusterRef('econ-spoke');
    const other = clusterRef('econ-shared');
    // A brand-new spoke cluster: no workload identity, membership, feature, route export or namespace yet, in a fleet without the MCS feature.
    await seedCluster(cloud, spoke, { peering: true });
    await seedCluster(cloud, other, { network: NON_SPOKE });
    const config = configOf(benchConfig(cloud));
    const log = quietLogger();
    const app = createApp(config, { log, cloud: createCloud(config, log) });
    const rows: EconomyRow[] = [];
    const measure = async (event: string, entry: Parameters<typeof auditCloudEvent>[0]) => {
      const before = cloud.faults.counters();
      await deliver(app, auditCloudEvent(entry));
      rows.push(compare(event, callsSince(cloud, before)));
    };
    await measure('spoke cluster created', clusterCreatedEntry(spoke));
    await measure('same event redelivered', clusterCreatedEntry(spoke));
    await measure('non-spoke cluster created', clusterCreatedEntry(other));
    // A second member cluster, so the fleet-wide export view has more than one cluster to list.
    const members = await seedFleet(cloud, {
      clusters: MEMBERS - 1,
      servicesPerCluster: 1,
      labelledPerCluster: 0,
      driftEvery: 0,
      prefix: 'econ-member',
    });
    // GKE serves the MCS resources in a member some time after it joins: until then its exports cannot be listed,
    // and the counts below would depend on how long seeding took.
    await until(
      () => [spoke, ...members].every((ref) => cloud.kube(ref).api.servesMcs),
      'the MCS resources served in every member',
      10_000,
    );
    putService(cloud, spoke, 'api', true);
    const labelled = servicePatchedEntry(spoke, 'api');
    await measure('Service labelled', labelled);
    await measure('Service event redelivered', labelled);
    putService(cloud, spoke, 'api', false);
    await measure('Service unlabelled', servicePatchedEntry(spoke, 'api'));
    return rows;
  } finally {
    await cloud.close();
  }
}

export function economyFigures(rows: readonly EconomyRow[]): Figure[] {
  const group = 'API economy (calls per event; baseline = the minimum each step needs)';
  const figures: Figure[] = [];
  for (const row of rows) {
    const minWrites = sum(row.minimum.writes);
    const minReads = sum(row.minimum.reads);
    const redelivery = minWrites === 0;
    figures.push({
      group,
      figure: `${row.event}: writes`,
      value: row.writes,
      unit: 'calls',
      baseline: minWrites,
      ratio: minWrites ? row.writes / minWrites : undefined,
      target: redelivery ? '= 0' : '= minimum',
      met: row.writes === minWrites && !row.excess.some((e) => e.includes('minimum 0')),
    });
    figures.push({
      group,
      figure: `${row.event}: reads`,
      value: row.reads,
      unit: 'calls',
      baseline: minReads,
      ratio: minReads ? Math.round((row.reads / minReads) * 100) / 100 : undefined,
      target: 'no redundant read',
      met: row.excess.length === 0 && row.reads === minReads,
      note: row.excess.length ? `excess: ${row.excess.join(', ')}` : undefined,
    });
    if (row.minimum.lros > 0 || row.polls > 0) {
      figures.push({
        group,
        figure: `${row.event}: LRO polls`,
        value: row.polls,
        unit: 'calls',
        baseline: row.minimum.lros,
        ratio: row.minimum.lros ? row.polls / row.minimum.lros : undefined,
        note: '≥ 1 per LRO; extra polls = operation not yet done',
      });
    }
  }
  return figures;
}

export const apiEconomy: Benchmark = {
  name: 'api-economy',
  async run({ progress }) {
    progress('api economy: six events against one instance');
    return economyFigures(await measureEconomy());
  },
};
