/**
 * In-memory fakes of the cloud ports, for unit tests of the reconcile logic. They keep state like the real APIs
 * would and record every call, so tests assert the exact writes a step made (recording stubs).
 */

import { ClusterGoneError } from '../../shared/cloud/kube-connector';
import type {
  Cloud,
  ClusterInfo,
  KubeEventSpec,
  KubePort,
  KubeService,
  KubeServiceExport,
  KubeServiceImport,
  KubeTarget,
  Membership,
  NetworkOperation,
  NewMembership,
  PeeringState,
  RunningOperation,
  SubnetRanges,
} from '../../shared/cloud/ports';
import { TransientError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { FLEET, PROJECT } from './context';
import { gaxiosError, grpcError, kubeError } from './errors';

export interface Call {
  api: string;
  method: string;
  args: unknown[];
}

const key = (ref: ClusterRef) => `${ref.project}/${ref.location}/${ref.name}`;
// Each port rethrows what its client library throws: gRPC for GKE, gaxios for GKE Hub, client-node for Kubernetes.
const clusterNotFound = () => grpcError(5, 'not found');
const membershipNotFound = () => gaxiosError(404, 'NOT_FOUND', 'not found');
const membershipExists = () => gaxiosError(409, 'ALREADY_EXISTS', 'already exists');

const WRITES = /^(set|update|create|delete|record)/;

export class CallLog {
  readonly calls: Call[] = [];
  /** Set to make the next calls of `api.method` throw this error (a function: once per call). */
  readonly failures = new Map<string, () => unknown>();
  /** Seconds since a fixed epoch: the API servers' clock for creationTimestamp (second precision, like theirs). */
  clock = 0;
  /** Seconds the clock advances at each object created; 0 makes every creation fall in the same second. */
  tickPerCreate = 1;

  /** The creationTimestamp of an object created now. */
  created(): string {
    const at = new Date(Date.UTC(2026, 0, 1) + this.clock * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.clock += this.tickPerCreate;
    return at;
  }

  record(api: string, method: string, args: unknown[]): void {
    this.calls.push({ api, method, args });
    const fail = this.failures.get(`${api}.${method}`) ?? this.failures.get(`${api}.*`);
    if (fail) throw fail();
  }

  writes(): Call[] {
    return this.calls.filter((c) => WRITES.test(c.method));
  }

  reads(): Call[] {
    return this.calls.filter((c) => !WRITES.test(c.method));
  }

  reset(): void {
    this.calls.length = 0;
  }
}

export function clusterInfo(ref: ClusterRef, overrides: Partial<ClusterInfo> = {}): ClusterInfo {
  return {
    ref,
    status: 'RUNNING',
    network: { project: ref.project, name: 'gcp-spoke100-us-east4' },
    vpcNative: true,
    endpoint: '127.0.0.1:1',
    caCertificate: 'Y2E=',
    httpLoadBalancing: true,
    nodePools: [],
    ...overrides,
  };
}

/** Member clusters `cluster-FROM…` in `project`, each with a fleet membership Spokefleet can find. */
export function memberClusters(
  cloud: FakeCloud,
  n: number,
  project = PROJECT,
  from = 1,
): Array<{ ref: ClusterRef; kube: FakeKube }> {
  return Array.from({ length: n }, (_, i) => {
    const ref = { project, location: 'us-east4', name: `cluster-${from + i}` };
    const name = `projects/${FLEET}/locations/global/memberships/${project}-${ref.name}`;
    cloud.memberships.set(name, {
      name,
      resourceLink: `//container.googleapis.com/projects/${project}/locations/us-east4/clusters/${ref.name}`,
      labels: {},
    });
    return { ref, kube: cloud.addCluster(clusterInfo(ref)) };
  });
}

/** The fake's Event name: stands for the adapter's deterministic one (same object, reason, message). */
const eventName = (e: KubeEventSpec) => `${e.involved.name}.${e.reason}.${e.message}`;

export class FakeKube implements KubePort {
  namespaces = new Map<string, Record<string, string>>();
  services = new Map<string, KubeService>();
  exports = new Map<string, KubeServiceExport>();
  imports = new Map<string, KubeServiceImport>();
  endpoints = new Map<string, number>();
  events: Array<KubeEventSpec & { count: number }> = [];

  constructor(
    readonly cluster: string,
    private readonly log: CallLog,
  ) {}

  private call(method: string, ...args: unknown[]) {
    this.log.record(`kube:${this.cluster}`, method, args);
  }

  addService(namespace: string, name: string, labels: Record<string, string> = {}): void {
    this.services.set(`${namespace}/${name}`, { metadata: { name, namespace, labels, uid: `uid-${name}` } });
  }

  addExport(namespace: string, name: string, labels: Record<string, string> = {}): void {
    this.exports.set(`${namespace}/${name}`, {
      metadata: { name, namespace, labels, creationTimestamp: this.log.created() },
      conditions: [],
    });
  }

  async getNamespace(name: string) {
    this.call('getNamespace', name);
    const labels = this.namespaces.get(name);
    return labels ? { metadata: { name, labels } } : undefined;
  }
  async createNamespace(name: string, labels: Record<string, string>) {
    this.call('createNamespace', name, labels);
    if (this.namespaces.has(name)) throw kubeError(409, 'exists', 'AlreadyExists');
    this.namespaces.set(name, labels);
  }
  async getService(namespace: string, name: string) {
    this.call('getService', namespace, name);
    return this.services.get(`${namespace}/${name}`);
  }
  async listServices(labelSelector: string) {
    this.call('listServices', labelSelector);
    const [k, v] = labelSelector.split('=');
    return [...this.services.values()].filter((s) => s.metadata.labels?.[k] === v);
  }
  async getServiceExport(namespace: string, name: string) {
    this.call('getServiceExport', namespace, name);
    return this.exports.get(`${namespace}/${name}`);
  }
  async listServiceExports() {
    this.call('listServiceExports');
    return [...this.exports.values()];
  }
  async createServiceExport(namespace: string, name: string, labels: Record<string, string>) {
    this.call('createServiceExport', namespace, name, labels);
    if (this.exports.has(`${namespace}/${name}`)) throw kubeError(409, 'exists', 'AlreadyExists');
    const created: KubeServiceExport = {
      metadata: { name, namespace, labels, creationTimestamp: this.log.created() },
      conditions: [],
    };
    this.exports.set(`${namespace}/${name}`, created);
    return created;
  }
  async deleteServiceExport(namespace: string, name: string) {
    this.call('deleteServiceExport', namespace, name);
    if (!this.exports.delete(`${namespace}/${name}`)) throw kubeError(404, 'not found');
  }
  async listServiceImports() {
    this.call('listServiceImports');
    return [...this.imports.values()];
  }
  async countReadyEndpoints(namespace: string, service: string) {
    this.call('countReadyEndpoints', namespace, service);
    return this.endpoints.get(`${namespace}/${service}`) ?? 1;
  }
  async listEventNames(reason: string) {
    this.call('listEventNames', reason);
    return new Set(
      this.events.filter((e) => e.reason === reason).map((e) => `${e.namespace}/${eventName(e)}`),
    );
  }
  async recordEvent(event: KubeEventSpec, _known?: ReadonlySet<string>) {
    const same = this.events.find(
      (e) =>
        e.involved.name === event.involved.name && e.reason === event.reason && e.message === event.message,
    );
    if (same) {
      this.log.record(`kube:${this.cluster}`, 'readEvents', [event.involved.name]);
      return 'unchanged' as const;
    }
    this.call('recordEvent', event);
    this.events.push({ ...event, count: 1 });
    return 'created' as const;
  }
}

export class FakeCloud implements Cloud {
  readonly log = new CallLog();
  readonly clusterStore = new Map<string, ClusterInfo>();
  readonly peerings = new Map<string, PeeringState>();
  /** Subnetworks per `project/network`. */
  readonly subnets = new Map<string, SubnetRanges[]>();
  readonly memberships = new Map<string, Membership>();
  readonly features = new Set<string>();
  readonly kubes = new Map<string, FakeKube>();
  readonly connects: KubeTarget[] = [];
  /**
   * Operations still running, by cluster key (GKE) or `project/network` (Compute). Waiting for one runs its
   * `finish` (the change it makes) and removes it, unless it is `stuck`: then the wait runs out (transient).
   */
  readonly runningOps = new Map<
    string,
    Array<(RunningOperation | NetworkOperation) & { finish?: () => void; stuck?: boolean }>
  >();
  /** Memberships whose CREATING/UPDATING state does not end within a wait. */
  readonly stuckMemberships = new Set<string>();

  private waitFor(where: string, operation: string): void {
    const ops = this.runningOps.get(where) ?? [];
    const op = ops.find((o) => o.name === operation);
    if (!op) return;
    if (op.stuck)
      throw new TransientError(`operation ${operation} did not finish in time`, 'operation-timeout');
    op.finish?.();
    ops.splice(ops.indexOf(op), 1);
  }

  addCluster(info: ClusterInfo): FakeKube {
    this.clusterStore.set(key(info.ref), info);
    return this.kubeOf(info.ref);
  }

  kubeOf(ref: ClusterRef): FakeKube {
    let kube = this.kubes.get(key(ref));
    if (!kube) {
      kube = new FakeKube(key(ref), this.log);
      this.kubes.set(key(ref), kube);
    }
    return kube;
  }

  readonly clusters = {
    get: async (ref: ClusterRef) => {
      this.log.record('clusters', 'get', [ref]);
      return this.clusterStore.get(key(ref));
    },
    list: async (project: string) => {
      this.log.record('clusters', 'list', [project]);
      return [...this.clusterStore.values()].filter((c) => c.ref.project === project);
    },
    setWorkloadPool: async (ref: ClusterRef, pool: string) => {
      this.log.record('clusters', 'setWorkloadPool', [ref, pool]);
      const c = this.clusterStore.get(key(ref));
      if (!c) throw clusterNotFound();
      c.workloadPool = pool;
    },
    updateNodePoolMetadata: async (ref: ClusterRef, pool: string) => {
      this.log.record('clusters', 'updateNodePoolMetadata', [ref, pool]);
      const c = this.clusterStore.get(key(ref));
      const found = c?.nodePools.find((p) => p.name === pool);
      if (!found) throw clusterNotFound();
      if (!c?.workloadPool) throw grpcError(9, 'needs workload identity on the cluster');
      found.metadataMode = 'GKE_METADATA';
    },
    runningOperations: async (ref: ClusterRef) => {
      this.log.record('clusters', 'runningOperations', [ref]);
      return (this.runningOps.get(key(ref)) ?? []).map(({ finish: _f, stuck: _s, ...op }) => ({
        ...op,
      })) as RunningOperation[];
    },
    waitOperation: async (ref: ClusterRef, operation: string) => {
      this.log.record('clusters', 'waitOperation', [ref, operation]);
      this.waitFor(key(ref), operation);
    },
  };

  readonly peering = {
    get: async (project: string, network: string, name: string) => {
      this.log.record('peering', 'get', [project, network, name]);
      const p = this.peerings.get(`${project}/${network}/${name}`);
      return p ? { ...p } : undefined;
    },
    update: async (project: string, network: string, peering: PeeringState) => {
      this.log.record('peering', 'update', [project, network, peering]);
      this.peerings.set(`${project}/${network}/${peering.name}`, { ...peering });
    },
    listSubnetRanges: async (project: string, network: string) => {
      this.log.record('peering', 'listSubnetRanges', [project, network]);
      return structuredClone(this.subnets.get(`${project}/${network}`));
    },
    runningPeeringOperations: async (project: string, network: string) => {
      this.log.record('peering', 'runningPeeringOperations', [project, network]);
      return (this.runningOps.get(`${project}/${network}`) ?? []).map(({ finish: _f, stuck: _s, ...op }) => ({
        ...op,
      })) as NetworkOperation[];
    },
    waitOperation: async (project: string, operation: string) => {
      this.log.record('peering', 'waitOperation', [project, operation]);
      for (const [where, ops] of this.runningOps) {
        if (where.startsWith(`${project}/`) && ops.some((o) => o.name === operation))
          this.waitFor(where, operation);
      }
    },
  };

  readonly fleet = {
    listMemberships: async (fleetProject: string) => {
      this.log.record('fleet', 'listMemberships', [fleetProject]);
      return [...this.memberships.values()].filter((m) => m.name.startsWith(`projects/${fleetProject}/`));
    },
    createMembership: async (fleetProject: string, location: string, id: string, spec: NewMembership) => {
      this.log.record('fleet', 'createMembership', [fleetProject, location, id, spec]);
      const name = `projects/${fleetProject}/locations/${location}/memberships/${id}`;
      if (this.memberships.has(name)) throw membershipExists();
      const m: Membership = {
        name,
        resourceLink: spec.resourceLink,
        labels: spec.labels,
        workloadIdentityPool: `${fleetProject}.svc.id.goog`,
      };
      this.memberships.set(name, m);
      return m;
    },
    awaitMembership: async (name: string) => {
      this.log.record('fleet', 'awaitMembership', [name]);
      const m = this.memberships.get(name);
      if (!m) return undefined;
      if (this.stuckMemberships.has(name))
        throw new TransientError(`membership ${name} did not finish in time`, 'operation-timeout');
      m.state = 'READY';
      return { ...m };
    },
    deleteMembership: async (name: string) => {
      this.log.record('fleet', 'deleteMembership', [name]);
      if (!this.memberships.delete(name)) throw membershipNotFound();
    },
    setAuthority: async (name: string, issuer: string) => {
      this.log.record('fleet', 'setAuthority', [name, issuer]);
      const m = this.memberships.get(name);
      if (!m) throw membershipNotFound();
      m.workloadIdentityPool = `${name.split('/')[1]}.svc.id.goog`;
    },
    hasFeature: async (fleetProject: string, featureId: string) => {
      this.log.record('fleet', 'hasFeature', [fleetProject, featureId]);
      return this.features.has(`${fleetProject}/${featureId}`);
    },
    createFeature: async (fleetProject: string, featureId: string, labels: Record<string, string>) => {
      this.log.record('fleet', 'createFeature', [fleetProject, featureId, labels]);
      this.features.add(`${fleetProject}/${featureId}`);
    },
  };

  readonly kube = {
    connect: async (target: KubeTarget) => {
      this.log.record('kube', 'connect', [key(target.ref)]);
      this.connects.push(target);
      if (!this.clusterStore.has(key(target.ref))) throw new ClusterGoneError(target.ref.name);
      return this.kubeOf(target.ref);
    },
  };
}
