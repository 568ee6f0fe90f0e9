/**
 * ClustersPort on @google-cloud/container (gRPC). Library retries are turned off (`retry: null`) so that one
 * budget — shared/errors withRetry — governs every call; gax would otherwise retry reads for 20 s on its own and
 * report the last failure as DEADLINE_EXCEEDED.
 */

import type { protos } from '@google-cloud/container';
import type { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import {
  GrpcCode,
  grpcCode,
  OperationFailedError,
  orUndefined,
  type RetryOptions,
  TransientError,
  withRetry,
} from '../errors';
import type { ClusterRef } from '../events/types';
import { parseNetworkPath } from '../policy/spokes';
import { type WaitOptions, waitFor } from './operations';
import type { ClusterInfo, ClustersPort, RunningOperation } from './ports';

type Cluster = protos.google.container.v1.ICluster;
type Operation = protos.google.container.v1.IOperation;

const NO_LIBRARY_RETRY = { retry: null } as unknown as Record<string, never>;

const clusterName = (ref: ClusterRef) =>
  `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

/** google.container.v1.Cluster → ClusterInfo. Absent messages arrive as null and strings as '' (proto3). */
export function toClusterInfo(project: string, cluster: Cluster): ClusterInfo {
  const location = cluster.location || cluster.zone || '';
  const networkPath =
    cluster.networkConfig?.network || `projects/${project}/global/networks/${cluster.network || 'default'}`;
  const network = parseNetworkPath(networkPath) ?? { project, name: cluster.network || 'default' };
  return {
    ref: { project, location, name: cluster.name ?? '' },
    status: String(cluster.status ?? 'STATUS_UNSPECIFIED'),
    network,
    vpcNative: cluster.ipAllocationPolicy?.useIpAliases === true,
    workloadPool: cluster.workloadIdentityConfig?.workloadPool || undefined,
    peeringName: cluster.privateClusterConfig?.peeringName || undefined,
    fleetMembership: cluster.fleet?.membership || undefined,
    endpoint: cluster.endpoint || undefined,
    caCertificate: cluster.masterAuth?.clusterCaCertificate || undefined,
    createTime: cluster.createTime || undefined,
    httpLoadBalancing: cluster.addonsConfig?.httpLoadBalancing?.disabled !== true,
    nodePools: (cluster.nodePools ?? []).map((pool) => ({
      name: pool.name ?? '',
      metadataMode: String(pool.config?.workloadMetadataConfig?.mode || 'MODE_UNSPECIFIED'),
      nodeCount: pool.initialNodeCount ?? undefined,
      zones: pool.locations?.length || undefined,
      maxSurge: pool.upgradeSettings?.maxSurge ?? undefined,
      maxUnavailable: pool.upgradeSettings?.maxUnavailable ?? undefined,
    })),
    ranges: clusterRanges(cluster),
  };
}

/** The ranges a spoke gateway may need to advertise; proto3 sends '' for an unset string, read as absent. */
function clusterRanges(cluster: Cluster): ClusterInfo['ranges'] {
  const ranges: NonNullable<ClusterInfo['ranges']> = {};
  const master = cluster.privateClusterConfig?.masterIpv4CidrBlock;
  const pods = cluster.ipAllocationPolicy?.clusterIpv4CidrBlock;
  const services = cluster.ipAllocationPolicy?.servicesIpv4CidrBlock;
  if (master) ranges.master = master;
  if (pods) ranges.pods = pods;
  if (services) ranges.services = services;
  return Object.keys(ranges).length > 0 ? ranges : undefined;
}

/**
 * The cluster or node pool an operation's `targetLink` names, e.g.
 * `https://container.googleapis.com/v1/projects/123/zones/us-central1-c/clusters/c/nodePools/np[/node/n]`: the
 * proto's comment on `Operation.target_link` (the project may appear as its number, the location under `zones/`).
 */
export function operationTarget(
  targetLink: string | null | undefined,
): { location: string; cluster: string; nodePool?: string } | undefined {
  const match = /\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)(?:\/nodePools\/([^/]+))?(?:\/.*)?$/.exec(
    targetLink ?? '',
  );
  if (!match) return undefined;
  return { location: match[1], cluster: match[2], ...(match[3] ? { nodePool: match[3] } : {}) };
}

/** Operations on `ref` that are not DONE, out of a ListOperations answer. */
export function runningOn(ref: ClusterRef, operations: readonly Operation[]): RunningOperation[] {
  const running: RunningOperation[] = [];
  for (const op of operations) {
    if (String(op.status) === 'DONE') continue;
    const target = operationTarget(op.targetLink);
    if (!target || target.cluster !== ref.name || target.location !== ref.location) continue;
    running.push({
      name: op.name ?? '',
      type: String(op.operationType ?? 'TYPE_UNSPECIFIED'),
      ...(target.nodePool ? { nodePool: target.nodePool } : {}),
      ...(op.startTime ? { startTime: op.startTime } : {}),
    });
  }
  return running;
}

/** GKE refuses a change while another operation runs on the cluster; that only means "later". */
function busyAsTransient(error: unknown): unknown {
  if (
    grpcCode(error) === GrpcCode.FAILED_PRECONDITION &&
    /operation/i.test(String((error as Error).message))
  ) {
    return new TransientError(`cluster is busy: ${(error as Error).message}`, 'cluster-busy', {
      cause: error,
    });
  }
  return error;
}

export class ClustersAdapter implements ClustersPort {
  constructor(
    private readonly client: () => ClusterManagerClient,
    private readonly retry: RetryOptions = {},
    private readonly wait: WaitOptions = {},
  ) {}

  async get(ref: ClusterRef): Promise<ClusterInfo | undefined> {
    const found = await orUndefined(() =>
      withRetry(() => this.client().getCluster({ name: clusterName(ref) }, NO_LIBRARY_RETRY), this.retry),
    );
    return found && toClusterInfo(ref.project, found[0]);
  }

  async list(project: string): Promise<ClusterInfo[]> {
    const [response] = await withRetry(
      () => this.client().listClusters({ parent: `projects/${project}/locations/-` }, NO_LIBRARY_RETRY),
      this.retry,
    );
    return (response.clusters ?? []).map((c) => toClusterInfo(project, c));
  }

  async setWorkloadPool(ref: ClusterRef, workloadPool: string): Promise<void> {
    const [operation] = await withRetry(async () => {
      try {
        return await this.client().updateCluster(
          { name: clusterName(ref), update: { desiredWorkloadIdentityConfig: { workloadPool } } },
          NO_LIBRARY_RETRY,
        );
      } catch (error) {
        throw busyAsTransient(error);
      }
    }, this.retry);
    await this.waitStarted(ref, operation);
  }

  async updateNodePoolMetadata(ref: ClusterRef, nodePool: string): Promise<void> {
    const [operation] = await withRetry(async () => {
      try {
        // The request gcloud's `node-pools update --workload-metadata=GKE_METADATA` sends: the name and the mode.
        return await this.client().updateNodePool(
          {
            name: `${clusterName(ref)}/nodePools/${nodePool}`,
            workloadMetadataConfig: { mode: 'GKE_METADATA' },
          },
          NO_LIBRARY_RETRY,
        );
      } catch (error) {
        throw busyAsTransient(error);
      }
    }, this.retry);
    await this.waitStarted(ref, operation);
  }

  async runningOperations(ref: ClusterRef): Promise<RunningOperation[]> {
    // ListOperations takes no filter: gcloud's `container operations list` filters on the client, as here.
    const [response] = await withRetry(
      () =>
        this.client().listOperations(
          { parent: `projects/${ref.project}/locations/${ref.location}` },
          NO_LIBRARY_RETRY,
        ),
      this.retry,
    );
    return runningOn(ref, response.operations ?? []);
  }

  async waitOperation(ref: ClusterRef, operation: string): Promise<void> {
    await this.waitStarted(ref, { name: operation });
  }

  private async waitStarted(ref: ClusterRef, started: Operation): Promise<void> {
    const name = `projects/${ref.project}/locations/${ref.location}/operations/${started.name}`;
    const done = await waitFor(
      `operation ${started.name}`,
      async () => {
        if (String(started.status) === 'DONE') return started;
        const [op] = await withRetry(
          () => this.client().getOperation({ name }, NO_LIBRARY_RETRY),
          this.retry,
        );
        return String(op.status) === 'DONE' ? op : undefined;
      },
      this.wait,
    );
    if (done.error?.code) {
      throw new OperationFailedError(started.name ?? name, done.error.message ?? '', {
        grpc: done.error.code,
      });
    }
  }
}
