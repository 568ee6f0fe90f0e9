/**
 * The clusters and operations of the GKE stand-in, and their lifecycle: a mutating call starts an operation
 * at once and finishes it in the background, calling the hooks that reach the rest of the local cloud.
 */
import { status } from '@grpc/grpc-js';
import type { ClusterRef } from '../../shared/events/types';
import { clusterKey, clusterName, type Scope } from './names';
import {
  buildCluster,
  type Cluster,
  type ClusterSpec,
  type FleetConfig,
  type MetadataMode,
  metadataServerNeedsWorkloadIdentity,
  type NodePool,
  newOperation,
  type Operation,
  type OperationType,
  validateWorkloadPool,
} from './shapes';
import { alreadyExists, incompatibleOperation, invalidArgument, notFound, StatusError } from './status';

export interface ContainerHooks {
  /** Start the cluster's Kubernetes API; returns what GKE puts in `endpoint` (host:port of the API, loopback) and masterAuth.clusterCaCertificate (base64 PEM). */
  provisionKube(ref: ClusterRef): Promise<{ endpoint: string; caCertificate: string }>;
  releaseKube(ref: ClusterRef): Promise<void>;
  /** GKE adds its control-plane peering to the cluster's VPC for peering-based private clusters. Throw to fail the create (e.g. network missing). */
  addPeering(project: string, network: string, peeringName: string): Promise<void>;
  removePeering(project: string, network: string, peeringName: string): Promise<void>;
  /** Cluster created with `fleet.project` (born in the fleet): GKE registers a membership in the cluster's region. Returns the full membership name for `fleet.membership` (`//gkehub.googleapis.com/projects/FLEET/locations/REGION/memberships/NAME`). */
  registerFleetMembership(ref: ClusterRef, fleetProject: string): Promise<string>;
  unregisterFleetMembership(ref: ClusterRef, membership: string): Promise<void>;
}

/** ClusterUpdate fields the stand-in applies; any other `desired*` field answers UNIMPLEMENTED. */
export interface ClusterUpdate {
  desiredWorkloadIdentityConfig?: { workloadPool?: string };
  [field: string]: unknown;
}

/** UpdateNodePoolRequest fields the stand-in applies (gcloud's `node-pools update --workload-metadata` sends only this). */
export interface NodePoolUpdate {
  workloadMetadataConfig?: { mode?: MetadataMode };
  [field: string]: unknown;
}

/** The running time of an operation: its type, and for a node-pool operation the pool (nodes and surge settings). */
export type OperationDuration = (
  type: OperationType,
  pool?: NodePool,
  cluster?: ClusterRef,
) => number | undefined;

/** A started operation; `done` settles (never rejects) when it finishes, with its final state. */
export interface Started {
  operation: Operation;
  done: Promise<Operation>;
}

interface Entry {
  ref: ClusterRef;
  cluster: Cluster;
  /** What provisioning set up, so deletion undoes exactly that (also after a failed create). */
  kube: boolean;
  peering?: { project: string; network: string; name: string };
  /** The cluster-level operation running on the cluster, if any. */
  busy?: string;
  /** Node-pool operations running, by pool. */
  poolBusy: Map<string, string>;
}

interface StoredOperation {
  operation: Operation;
  project: string;
}

const copy = <T>(value: T): T => structuredClone(value);

export class ContainerStore {
  private readonly clusters = new Map<string, Entry>();
  private readonly operations = new Map<string, StoredOperation>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly hooks: ContainerHooks,
    private readonly provisionDelayMs = 50,
    /** How long an operation runs, when a timing profile says (else `provisionDelayMs`). */
    private readonly operationMs?: OperationDuration,
  ) {}

  /** Clusters of `project` (every project when absent) in `location` (every location when absent or `-`). */
  listClusters(scope: Partial<Scope> = {}): Cluster[] {
    return [...this.clusters.values()]
      .filter((e) => !scope.project || e.ref.project === scope.project)
      .filter((e) => !scope.location || scope.location === '-' || e.ref.location === scope.location)
      .sort((a, b) => compareRefs(a.ref, b.ref))
      .map((e) => copy(e.cluster));
  }

  getCluster(ref: ClusterRef): Cluster | undefined {
    const entry = this.clusters.get(clusterKey(ref));
    return entry && copy(entry.cluster);
  }

  listOperations(scope: Partial<Scope> = {}): Operation[] {
    return [...this.operations.values()]
      .filter((o) => !scope.project || o.project === scope.project)
      .filter((o) => !scope.location || scope.location === '-' || o.operation.location === scope.location)
      .map((o) => copy(o.operation));
  }

  getOperation(scope: Scope, name: string): Operation {
    const stored = this.operations.get(name);
    if (
      !stored ||
      stored.project !== scope.project ||
      (scope.location !== '-' && stored.operation.location !== scope.location)
    ) {
      throw notFound(`projects/${scope.project}/locations/${scope.location}/operations/${name}`);
    }
    return copy(stored.operation);
  }

  /** A RUNNING cluster at once, with the same fields and hooks as CreateCluster but no operation. */
  async seedCluster(ref: ClusterRef, spec: ClusterSpec = {}): Promise<Cluster> {
    const entry = this.admitNew(ref, spec);
    entry.busy = 'seed';
    try {
      await this.provision(entry);
    } catch (error) {
      // A failed seed leaves nothing behind, so it can be retried under the same name.
      await this.teardown(entry).catch(() => {});
      this.clusters.delete(clusterKey(ref));
      throw error;
    }
    entry.busy = undefined;
    entry.cluster.status = 'RUNNING';
    for (const pool of entry.cluster.nodePools) pool.status = 'RUNNING';
    return copy(entry.cluster);
  }

  /** Removes a cluster at once, undoing what provisioning set up; false when there was none. */
  async deleteCluster(ref: ClusterRef): Promise<boolean> {
    const entry = this.clusters.get(clusterKey(ref));
    if (!entry) return false;
    assertIdle(entry);
    await this.teardown(entry);
    this.clusters.delete(clusterKey(ref));
    return true;
  }

  /** Sets or clears `cluster.fleet`, e.g. when a membership is made for the cluster through the Fleet API. */
  setFleet(ref: ClusterRef, fleet: FleetConfig | undefined): void {
    const entry = this.mustGet(ref);
    if (fleet) entry.cluster.fleet = { ...fleet };
    else delete entry.cluster.fleet;
  }

  startCreate(ref: ClusterRef, spec: ClusterSpec): Started {
    const entry = this.admitNew(ref, spec);
    return this.run(entry, 'CREATE_CLUSTER', {
      work: () => this.provision(entry),
      succeeded: () => {
        entry.cluster.status = 'RUNNING';
        for (const pool of entry.cluster.nodePools) pool.status = 'RUNNING';
      },
      failed: (message, code) => {
        entry.cluster.status = 'ERROR';
        entry.cluster.statusMessage = message;
        entry.cluster.conditions = [{ message, canonicalCode: code }];
      },
    });
  }

  startDelete(ref: ClusterRef): Started {
    const entry = this.mustGet(ref);
    assertIdle(entry);
    entry.cluster.status = 'STOPPING';
    return this.run(entry, 'DELETE_CLUSTER', {
      work: () => this.teardown(entry),
      succeeded: () => {
        this.clusters.delete(clusterKey(ref));
      },
      failed: (message) => {
        entry.cluster.status = 'ERROR';
        entry.cluster.statusMessage = message;
      },
    });
  }

  startUpdate(ref: ClusterRef, update: ClusterUpdate): Started {
    const entry = this.mustGet(ref);
    const fields = Object.keys(update).filter((k) => update[k] !== undefined);
    if (fields.length === 0) throw invalidArgument('Must specify a field to update.');
    const unsupported = fields.filter((f) => f !== 'desiredWorkloadIdentityConfig');
    if (unsupported.length > 0) {
      throw new StatusError(
        status.UNIMPLEMENTED,
        `The sandbox does not implement update.${unsupported.join(', update.')}.`,
      );
    }
    const pool = update.desiredWorkloadIdentityConfig?.workloadPool ?? '';
    if (pool) validateWorkloadPool(pool, ref.project);
    assertIdle(entry);
    entry.cluster.status = 'RECONCILING';
    return this.run(entry, 'UPDATE_CLUSTER', {
      work: async () => {},
      succeeded: () => {
        // GKE shows the new configuration once the operation is done; an empty pool disables it.
        if (pool) entry.cluster.workloadIdentityConfig = { workloadPool: pool };
        else delete entry.cluster.workloadIdentityConfig;
        entry.cluster.status = 'RUNNING';
      },
      failed: (message) => {
        entry.cluster.status = 'RUNNING';
        entry.cluster.statusMessage = message;
      },
    });
  }

  /**
   * UpdateNodePool with `workloadMetadataConfig`: GKE recreates the pool's nodes (the operation's length is the
   * timing profile's concern). GKE_METADATA needs workload identity on the cluster first.
   */
  startUpdateNodePool(ref: ClusterRef, poolName: string, update: NodePoolUpdate): Started {
    const entry = this.mustGet(ref);
    const pool = entry.cluster.nodePools.find((p) => p.name === poolName);
    if (!pool) throw notFound(`${clusterName(ref)}/nodePools/${poolName}`);
    const unsupported = Object.keys(update).filter(
      (f) => update[f] !== undefined && f !== 'workloadMetadataConfig',
    );
    if (unsupported.length > 0) {
      throw new StatusError(
        status.UNIMPLEMENTED,
        `The sandbox does not implement node pool update of ${unsupported.join(', ')}.`,
      );
    }
    const mode = update.workloadMetadataConfig?.mode;
    if (!mode) throw invalidArgument('Must specify a field to update.');
    // A running operation is answered first: the cluster's state is not settled while it runs.
    if (entry.busy) throw incompatibleOperation(entry.busy);
    const running = entry.poolBusy.get(poolName);
    if (running) throw incompatibleOperation(running);
    if (mode === 'GKE_METADATA' && !entry.cluster.workloadIdentityConfig?.workloadPool) {
      metadataServerNeedsWorkloadIdentity(poolName);
    }
    pool.status = 'RECONCILING';
    return this.run(
      entry,
      'UPGRADE_NODES',
      {
        work: async () => {},
        succeeded: () => {
          pool.config.workloadMetadataConfig = { mode };
          pool.status = 'RUNNING';
        },
        failed: () => {
          pool.status = 'RUNNING';
        },
      },
      poolName,
    );
  }

  /** Stops finishing operations (their timers would keep the process alive); what is running stays RUNNING. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private mustGet(ref: ClusterRef): Entry {
    const entry = this.clusters.get(clusterKey(ref));
    if (!entry) throw notFound(clusterName(ref));
    return entry;
  }

  private admitNew(ref: ClusterRef, spec: ClusterSpec): Entry {
    // GKE's automatic pod range avoids the ranges of the other clusters in the same network.
    const network = buildCluster(ref, spec).networkConfig.network;
    const taken = [...this.clusters.values()]
      .filter((e) => e.cluster.networkConfig.network === network)
      .map((e) => String(e.cluster.clusterIpv4Cidr ?? ''));
    const cluster = buildCluster(ref, spec, new Date(), taken);
    const key = clusterKey(ref);
    if (this.clusters.has(key)) throw alreadyExists(clusterName(ref));
    const entry: Entry = { ref: { ...ref }, cluster, kube: false, poolBusy: new Map() };
    this.clusters.set(key, entry);
    return entry;
  }

  /** What GKE does while a cluster provisions: control-plane peering, the API server, fleet registration. */
  private async provision(entry: Entry): Promise<void> {
    const { cluster, ref } = entry;
    const peeringName = cluster.privateClusterConfig.peeringName;
    if (peeringName) {
      const project = cluster.networkConfig.network.split('/')[1];
      await this.hooks.addPeering(project, cluster.network, peeringName);
      entry.peering = { project, network: cluster.network, name: peeringName };
    }
    const kube = await this.hooks.provisionKube(ref);
    entry.kube = true;
    cluster.endpoint = kube.endpoint;
    cluster.masterAuth.clusterCaCertificate = kube.caCertificate;
    if (cluster.fleet?.project && !cluster.fleet.membership) {
      const membership = await this.hooks.registerFleetMembership(ref, cluster.fleet.project);
      cluster.fleet = { project: cluster.fleet.project, membership, preRegistered: false };
    }
  }

  /** Undoes `provision`; a membership made through the Fleet API (preRegistered) is not GKE's to delete. */
  private async teardown(entry: Entry): Promise<void> {
    const { cluster, ref } = entry;
    const fleet = cluster.fleet;
    if (fleet?.membership && !fleet.preRegistered) {
      await this.hooks.unregisterFleetMembership(ref, fleet.membership);
      delete cluster.fleet;
    }
    if (entry.peering) {
      await this.hooks.removePeering(entry.peering.project, entry.peering.network, entry.peering.name);
      entry.peering = undefined;
    }
    if (entry.kube) {
      await this.hooks.releaseKube(ref);
      entry.kube = false;
    }
  }

  private run(
    entry: Entry,
    type: OperationType,
    steps: {
      work: () => Promise<void>;
      succeeded: () => void;
      failed: (message: string, code: string) => void;
    },
    nodePool?: string,
  ): Started {
    const operation = newOperation(entry.ref, type, new Date(), nodePool);
    this.operations.set(operation.name, { operation, project: entry.ref.project });
    if (nodePool) entry.poolBusy.set(nodePool, operation.name);
    else entry.busy = operation.name;
    const started = Date.now();
    const pool = nodePool ? entry.cluster.nodePools.find((p) => p.name === nodePool) : undefined;
    const runMs = this.operationMs?.(type, pool, entry.ref) ?? this.provisionDelayMs;
    const done = (async () => {
      try {
        await steps.work();
        // The operation takes at least runMs, like GKE takes minutes.
        await this.sleep(runMs - (Date.now() - started));
        steps.succeeded();
      } catch (error) {
        const code = statusCodeOf(error);
        const message = error instanceof Error ? error.message : String(error);
        operation.error = { code, message };
        operation.statusMessage = message;
        steps.failed(message, status[code]);
      }
      if (nodePool) entry.poolBusy.delete(nodePool);
      else entry.busy = undefined;
      operation.status = 'DONE';
      operation.endTime = new Date().toISOString();
      return copy(operation);
    })();
    return { operation: copy(operation), done };
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return new Promise(() => {});
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/**
 * GKE's concurrent-operations page: one cluster-level operation at a time, or one operation per node pool; a
 * cluster-level change waits for both kinds.
 */
function assertIdle(entry: Entry): void {
  const running = entry.busy ?? entry.poolBusy.values().next().value;
  if (running) throw incompatibleOperation(running);
}

/** By project, location, then name: ListClusters answers in a stable order. */
function compareRefs(a: ClusterRef, b: ClusterRef): number {
  return (
    a.project.localeCompare(b.project) || a.location.localeCompare(b.location) || a.name.localeCompare(b.name)
  );
}

/** A hook's failure as a gRPC code: its own when it carries one (a StatusError, a gRPC client error). */
function statusCodeOf(error: unknown): status {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && code > 0 && code <= 16) return code;
  return status.FAILED_PRECONDITION;
}
