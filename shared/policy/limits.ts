/**
 * GKE's documented Multi-Cluster Services limits, checked before an export is created so a refusal is
 * clear and local instead of a silent failure in the MCS controller, and enforced again after the fact, because
 * invocations running at the same time each see only their own reservations. Pure: the caller gathers the facts.
 *
 * Who stays when the fleet is over a limit is decided by one deterministic order, so that every invocation that
 * looks at the same exports agrees: the exports as if they had been created one at a time, oldest
 * `creationTimestamp` first (then cluster, then `namespace/name`), each admitted only if the limits still held.
 */
import type { Config } from '../config';

type Limits = Config['limits'];

/** One ServiceExport in the fleet, or one this invocation has reserved and not yet created. */
export interface FleetExport {
  namespace: string;
  name: string;
  /** `project/location/name` of the cluster exporting it. */
  cluster: string;
  /** The cluster's fleet membership, to reach it through the Connect gateway. */
  membership?: string;
  /** `metadata.creationTimestamp`; undefined while only reserved (it ranks as the newest). */
  createdAt?: string;
  /** Managed by this deployment: the only exports it may ever withdraw. */
  owned: boolean;
}

export const exportKey = (e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`;
const projectOf = (cluster: string) => cluster.split('/')[0];
const entryId = (cluster: string, namespace: string, name: string) => `${cluster}|${namespace}/${name}`;

/**
 * Who exports what across the member clusters, as one invocation knows it: what it read, plus its own
 * reservations. Every change is synchronous, so concurrent steps of one invocation never interleave a check and
 * its reservation.
 */
export class FleetView {
  private readonly entries = new Map<string, FleetExport>();

  constructor(entries: Iterable<FleetExport> = []) {
    for (const e of entries) this.entries.set(entryId(e.cluster, e.namespace, e.name), { ...e });
  }

  /** Counts an export this invocation is about to create (ranked as the newest until `confirm`). */
  reserve(namespace: string, name: string, cluster: string): void {
    const id = entryId(cluster, namespace, name);
    if (!this.entries.has(id)) this.entries.set(id, { namespace, name, cluster, owned: true });
  }

  /** The export exists now, created at `createdAt`. */
  confirm(namespace: string, name: string, cluster: string, createdAt: string | undefined): void {
    const entry = this.entries.get(entryId(cluster, namespace, name));
    if (entry) entry.createdAt = createdAt;
  }

  /** The export is gone (deleted, withdrawn, or never created). */
  release(namespace: string, name: string, cluster: string): void {
    this.entries.delete(entryId(cluster, namespace, name));
  }

  get(namespace: string, name: string, cluster: string): FleetExport | undefined {
    return this.entries.get(entryId(cluster, namespace, name));
  }

  all(): FleetExport[] {
    return [...this.entries.values()];
  }
}

export interface ExportFacts {
  namespace: string;
  name: string;
  /** `project/location/name` of the cluster asking to export. */
  cluster: string;
  /** Ready endpoints behind the Service (EndpointSlices), when read. */
  readyEndpoints?: number;
  /** The fleet-wide view, when read. */
  fleet?: FleetView;
}

export type LimitCheck = 'namespace' | 'endpoints' | 'fleet';

/** The cheap check first: no reads needed. */
export function namespaceRefusal(limits: Limits, namespace: string): string | undefined {
  return limits.forbiddenNamespaces.includes(namespace)
    ? `namespace ${namespace} cannot be exported (MCS does not export from ${limits.forbiddenNamespaces.join(', ')})`
    : undefined;
}

export function endpointsRefusal(limits: Limits, readyEndpoints: number): string | undefined {
  return readyEndpoints > limits.maxEndpointsPerService
    ? `${readyEndpoints} ready endpoints exceed the MCS limit of ${limits.maxEndpointsPerService} per exported Service`
    : undefined;
}

const time = (createdAt: string | undefined) => {
  const ms = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/**
 * The exports beyond a limit, each with why, in the deterministic order. `yielding` (one of `exports`) goes after
 * every other export of the same creation time: a candidate not created yet ranks after everything, reservations
 * included.
 */
export function exportsBeyondLimits(
  limits: Limits,
  exports: readonly FleetExport[],
  yielding?: FleetExport,
): Map<FleetExport, string> {
  const sortKey = (e: FleetExport): [number, number, string] => [
    time(e.createdAt),
    e === yielding ? 1 : 0,
    `${e.cluster}|${exportKey(e)}`,
  ];
  const ordered = [...exports]
    .map((e) => ({ e, k: sortKey(e) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || (a.k[2] < b.k[2] ? -1 : a.k[2] > b.k[2] ? 1 : 0))
    .map(({ e }) => e);
  const kept = new Map<string, FleetExport[]>();
  const beyond = new Map<FleetExport, string>();
  for (const e of ordered) {
    const key = exportKey(e);
    const exporters = kept.get(key);
    if (!exporters) {
      if (kept.size >= limits.maxServicesPerFleet) {
        beyond.set(
          e,
          `the fleet already exports ${kept.size} distinct Services, the MCS limit is ${limits.maxServicesPerFleet}`,
        );
      } else kept.set(key, [e]);
      continue;
    }
    const first = exporters[0];
    if (limits.refuseCrossProjectDuplicates && projectOf(first.cluster) !== projectOf(e.cluster)) {
      beyond.set(e, `${key} is already exported from another project (cluster ${first.cluster})`);
    } else if (exporters.length >= limits.maxClustersPerService) {
      beyond.set(
        e,
        `${key} is already exported by ${exporters.length} clusters, the MCS limit is ${limits.maxClustersPerService}`,
      );
    } else exporters.push(e);
  }
  return beyond;
}

/**
 * Before creating: would a new export of `namespace/name` from `cluster`, ranked after everything the view holds,
 * be within the limits? The refusal says which limit, or undefined.
 */
export function fleetRefusal(
  limits: Limits,
  facts: Required<Pick<ExportFacts, 'namespace' | 'name' | 'cluster' | 'fleet'>>,
): string | undefined {
  const others = facts.fleet
    .all()
    .filter(
      (e) => !(e.cluster === facts.cluster && e.namespace === facts.namespace && e.name === facts.name),
    );
  const candidate: FleetExport = {
    namespace: facts.namespace,
    name: facts.name,
    cluster: facts.cluster,
    owned: true,
  };
  return exportsBeyondLimits(limits, [...others, candidate], candidate).get(candidate);
}
