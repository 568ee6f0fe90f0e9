/**
 * The narrow interfaces the reconcile steps use, one per Google API. Each holds the minimum the
 * steps need; adapters in this folder implement them on the real client libraries, and tests use in-memory fakes.
 * Reads return `undefined` for "not there" instead of throwing, because absence is a normal state to reconcile.
 * Writes wait for their long-running operation (bounded) so the next step sees the result.
 */
import type { ClusterRef } from '../events/types';

/** What Spokefleet needs to know about a GKE cluster, normalised from google.container.v1.Cluster. */
export interface ClusterInfo {
  ref: ClusterRef;
  status: string;
  /** The cluster's VPC, from `networkConfig.network` (`projects/P/global/networks/N`). */
  network: { project: string; name: string };
  /** `ipAllocationPolicy.useIpAliases`. */
  vpcNative: boolean;
  /** `workloadIdentityConfig.workloadPool`, if set. */
  workloadPool?: string;
  /** `privateClusterConfig.peeringName`: only peering-based private clusters have one (not PSC clusters). */
  peeringName?: string;
  /** `fleet.membership` (`//gkehub.googleapis.com/projects/P/locations/L/memberships/ID`) when in a fleet. */
  fleetMembership?: string;
  /** Control-plane endpoint and `masterAuth.clusterCaCertificate` (base64 PEM), for direct Kubernetes access. */
  endpoint?: string;
  caCertificate?: string;
  /** `createTime` (RFC 3339), to tell a cluster being onboarded from one that has run for a while. */
  createTime?: string;
  /** `addonsConfig.httpLoadBalancing` is on (GKE's default); Multi-Cluster Services needs it. */
  httpLoadBalancing: boolean;
  /** Each node pool and the metadata server its nodes run (`config.workloadMetadataConfig.mode`). */
  nodePools: NodePoolInfo[];
  /**
   * The cluster's address ranges, as GKE reports them: `privateClusterConfig.masterIpv4CidrBlock` (peering-based
   * private clusters only), `ipAllocationPolicy.clusterIpv4CidrBlock` and `.servicesIpv4CidrBlock`.
   */
  ranges?: { master?: string; pods?: string; services?: string };
}

export interface NodePoolInfo {
  name: string;
  /** `GKE_METADATA`, `GCE_METADATA`, or `MODE_UNSPECIFIED` when GKE reports none. */
  metadataMode: string;
  /** Nodes per zone at creation and the surge settings: what a recreation of the nodes costs. */
  nodeCount?: number;
  /** The pool's zones (`locations`); its nodes are nodeCount in each. */
  zones?: number;
  /** `upgradeSettings.maxSurge` / `.maxUnavailable`: how many nodes GKE replaces at a time. */
  maxSurge?: number;
  maxUnavailable?: number;
}

/** A GKE operation that has not finished, on a cluster or one of its node pools. */
export interface RunningOperation {
  /** The operation's id (`operation-…`), as GetOperation takes it in `…/operations/{id}`. */
  name: string;
  /** `operationType`, e.g. UPDATE_CLUSTER, UPGRADE_NODES. */
  type: string;
  /** Set when the operation's target is one node pool. */
  nodePool?: string;
  /** RFC 3339. */
  startTime?: string;
}

export interface ClustersPort {
  get(ref: ClusterRef): Promise<ClusterInfo | undefined>;
  /** Every cluster in the project, all locations (`locations/-`). */
  list(project: string): Promise<ClusterInfo[]>;
  /** UpdateCluster with `desiredWorkloadIdentityConfig`, waiting for the operation. */
  setWorkloadPool(ref: ClusterRef, workloadPool: string): Promise<void>;
  /** UpdateNodePool with `workloadMetadataConfig.mode: GKE_METADATA` (GKE recreates the nodes), waiting for it. */
  updateNodePoolMetadata(ref: ClusterRef, nodePool: string): Promise<void>;
  /** Operations on the cluster and its node pools that are not DONE (ListOperations of its location). */
  runningOperations(ref: ClusterRef): Promise<RunningOperation[]>;
  /** Waits (bounded, within the invocation) for a named operation; throws when it failed or did not finish. */
  waitOperation(ref: ClusterRef, operation: string): Promise<void>;
}

export interface PeeringState {
  name: string;
  exportCustomRoutes: boolean;
  importCustomRoutes: boolean;
}

/** One subnetwork of a VPC and its address ranges. */
export interface SubnetRanges {
  name: string;
  region: string;
  /** `ipCidrRange`. */
  primary: string;
  /** `secondaryIpRanges[].ipCidrRange`. */
  secondary: string[];
}

/** A Compute global operation that has not finished. */
export interface NetworkOperation {
  name: string;
  /** `operationType`, e.g. updatePeering, addPeering. */
  type: string;
  /** RFC 3339. */
  startTime?: string;
}

export interface PeeringPort {
  /** The named peering on the network, or undefined when the network or the peering does not exist. */
  get(project: string, network: string, peeringName: string): Promise<PeeringState | undefined>;
  /** networks.updatePeering with both flags, waiting for the global operation. */
  update(project: string, network: string, peering: PeeringState): Promise<void>;
  /** Peering operations (add, remove, update) on the network that are not DONE (globalOperations.list). */
  runningPeeringOperations(project: string, network: string): Promise<NetworkOperation[]>;
  /** Waits (bounded, within the invocation) for a named global operation; throws when it failed or did not end. */
  waitOperation(project: string, operation: string): Promise<void>;
  /** The network's subnetworks (networks.get, then subnetworks.get of each); undefined when the network is gone. */
  listSubnetRanges(project: string, network: string): Promise<SubnetRanges[] | undefined>;
}

export interface Membership {
  /** `projects/P/locations/L/memberships/ID`. */
  name: string;
  /** `//container.googleapis.com/projects/P/locations/L/clusters/C`, for GKE memberships. */
  resourceLink?: string;
  labels: Record<string, string>;
  /** `authority.workloadIdentityPool`, set when the membership has workload identity. */
  workloadIdentityPool?: string;
  /** `state.code`: CREATING, READY, UPDATING, DELETING (absent when Hub sends none). */
  state?: string;
}

export interface NewMembership {
  resourceLink: string;
  issuer: string;
  labels: Record<string, string>;
}

export interface FleetPort {
  /** Every membership of the fleet project, in every location (`locations/-`). */
  listMemberships(fleetProject: string): Promise<Membership[]>;
  /** memberships.create + wait for the LRO. Throws an ALREADY_EXISTS-classified error when the id is taken. */
  createMembership(
    fleetProject: string,
    location: string,
    id: string,
    spec: NewMembership,
  ): Promise<Membership>;
  deleteMembership(name: string): Promise<void>;
  /**
   * Polls the membership (bounded, within the invocation) until its state is neither CREATING nor UPDATING; the
   * membership as it then is, or undefined when it is gone. Throws a transient error when it did not settle in time.
   */
  awaitMembership(name: string): Promise<Membership | undefined>;
  /** memberships.patch of `authority` (workload identity for an existing membership) + wait for the LRO. */
  setAuthority(name: string, issuer: string): Promise<void>;
  hasFeature(fleetProject: string, featureId: string): Promise<boolean>;
  createFeature(fleetProject: string, featureId: string, labels: Record<string, string>): Promise<void>;
}

/** A Kubernetes object's metadata, as much as the steps read. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  /** RFC 3339, second precision, set by the API server. */
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface KubeService {
  metadata: ObjectMeta;
}

export interface KubeServiceExport {
  metadata: ObjectMeta;
  /** `status.conditions` written by the MCS controller (Initialized, Exported, Conflict). */
  conditions: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/** A `net.gke.io/v1` ServiceImport: what GKE's MCS controller writes in a member cluster for an exported name. */
export interface KubeServiceImport {
  metadata: ObjectMeta;
  /** `spec.ips`: the clusterset IP(s). */
  ips: string[];
  ports: Array<{ name?: string; port: number; protocol?: string }>;
  /** `status.clusters[].cluster`: the exporting clusters (memberships). */
  clusters: string[];
}

export interface KubeEventSpec {
  namespace: string;
  /** The Service the event is about. */
  involved: { kind: string; name: string; uid?: string; apiVersion: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
}

/** The Kubernetes API of one cluster. */
export interface KubePort {
  getNamespace(name: string): Promise<{ metadata: ObjectMeta } | undefined>;
  createNamespace(name: string, labels: Record<string, string>): Promise<void>;
  getService(namespace: string, name: string): Promise<KubeService | undefined>;
  /** Services in every namespace matching the label selector. */
  listServices(labelSelector: string): Promise<KubeService[]>;
  getServiceExport(namespace: string, name: string): Promise<KubeServiceExport | undefined>;
  /** ServiceExports in every namespace (optionally filtered by a label selector). */
  listServiceExports(labelSelector?: string): Promise<KubeServiceExport[]>;
  createServiceExport(
    namespace: string,
    name: string,
    labels: Record<string, string>,
  ): Promise<KubeServiceExport>;
  deleteServiceExport(namespace: string, name: string): Promise<void>;
  /** ServiceImports in every namespace ([] when the cluster does not serve `net.gke.io` yet). */
  listServiceImports(): Promise<KubeServiceImport[]>;
  /** Ready endpoints behind a Service, counted over its EndpointSlices. */
  countReadyEndpoints(namespace: string, service: string): Promise<number>;
  /**
   * Records an Event on the Service; an Event of the same object, reason and message is recorded once. With
   * `existing` (the names `listEventNames` returned), the check costs no read.
   */
  recordEvent(
    event: KubeEventSpec,
    existing?: ReadonlySet<string>,
  ): Promise<'created' | 'updated' | 'unchanged'>;
  /** Names of the Events with this reason that Spokefleet recorded, in every namespace (`namespace/name`). */
  listEventNames(reason: string): Promise<Set<string>>;
}

/** Which cluster to reach; the connector reads what it is missing (endpoint mode needs the ClusterInfo). */
export interface KubeTarget {
  ref: ClusterRef;
  /** `projects/P/locations/L/memberships/ID`, for the Connect gateway. */
  membership?: string;
  cluster?: ClusterInfo;
}

export interface KubeConnector {
  /** A Kubernetes client for the cluster (via Connect gateway or its endpoint, per config). */
  connect(target: KubeTarget): Promise<KubePort>;
}

/** Every port, as the steps receive them. */
export interface Cloud {
  clusters: ClustersPort;
  peering: PeeringPort;
  fleet: FleetPort;
  kube: KubeConnector;
}

/** What became of one published message: its id, or why it was not published. */
export type PublishOutcome = { messageId: string } | { error: unknown };

/**
 * The reconcile topic, for the fan-out: a project or fleet request publishes one cluster request per cluster so
 * the work spreads over Pub/Sub deliveries and function instances.
 */
export interface RequestPublisher {
  /** The topic, `projects/P/topics/T`. */
  readonly topic: string;
  /** Publishes each request as a JSON message (batched); one outcome per request, in order. Never rejects. */
  publish(requests: readonly object[]): Promise<PublishOutcome[]>;
}
