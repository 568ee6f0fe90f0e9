/**
 * Row 9: GKE's documented Multi-Cluster Services limits, checked before an export is created so a refusal is
 * clear and local instead of a silent failure in the MCS controller. Pure: the caller gathers the facts.
 */
import type { Config } from '../config';

/** Who exports what across the fleet: `namespace/name` → the clusters (by `project/location/name`) exporting it. */
export type FleetExports = Map<string, Set<string>>;

export interface ExportFacts {
  namespace: string;
  name: string;
  /** `project/location/name` of the cluster asking to export. */
  cluster: string;
  /** Ready endpoints behind the Service (EndpointSlices), when read. */
  readyEndpoints?: number;
  /** The fleet-wide view, when read. */
  fleet?: FleetExports;
}

export type LimitCheck = 'namespace' | 'endpoints' | 'fleet';

/** The cheap check first: no reads needed. */
export function namespaceRefusal(limits: Config['limits'], namespace: string): string | undefined {
  return limits.forbiddenNamespaces.includes(namespace)
    ? `namespace ${namespace} cannot be exported (MCS does not export from ${limits.forbiddenNamespaces.join(', ')})`
    : undefined;
}

export function endpointsRefusal(limits: Config['limits'], readyEndpoints: number): string | undefined {
  return readyEndpoints > limits.maxEndpointsPerService
    ? `${readyEndpoints} ready endpoints exceed the MCS limit of ${limits.maxEndpointsPerService} per exported Service`
    : undefined;
}

export function fleetRefusal(
  limits: Config['limits'],
  facts: Required<Pick<ExportFacts, 'namespace' | 'name' | 'cluster' | 'fleet'>>,
): string | undefined {
  const key = `${facts.namespace}/${facts.name}`;
  const exporters = [...(facts.fleet.get(key) ?? [])].filter((c) => c !== facts.cluster);
  if (limits.refuseCrossProjectDuplicates) {
    const project = facts.cluster.split('/')[0];
    const foreign = exporters.find((c) => c.split('/')[0] !== project);
    if (foreign) return `${key} is already exported from another project (cluster ${foreign})`;
  }
  if (exporters.length >= limits.maxClustersPerService) {
    return `${key} is already exported by ${exporters.length} clusters, the MCS limit is ${limits.maxClustersPerService}`;
  }
  if (exporters.length === 0) {
    const distinct = [...facts.fleet.entries()].filter(
      ([k, clusters]) => k !== key && clusters.size > 0,
    ).length;
    if (distinct >= limits.maxServicesPerFleet) {
      return `the fleet already exports ${distinct} distinct Services, the MCS limit is ${limits.maxServicesPerFleet}`;
    }
  }
  return undefined;
}
