/**
 * google.container.v1 Cluster and Operation messages (proto3 JSON field names, enums as names) filled the way
 * GKE fills them, from what a CreateClusterRequest carries.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClusterRef } from '../../shared/events/types';
import {
  isZone,
  locationPath,
  regionOf,
  validateClusterName,
  validateLocation,
  validateProject,
} from './names';
import { failedPrecondition, invalidArgument } from './status';

export const API_ROOT = 'https://container.googleapis.com/v1';
export const DEFAULT_MASTER_VERSION = '1.33.5-gke.1308000';

export type ClusterStatus = 'PROVISIONING' | 'RUNNING' | 'RECONCILING' | 'STOPPING' | 'ERROR' | 'DEGRADED';

export interface FleetConfig {
  project: string;
  /** `//gkehub.googleapis.com/projects/P/locations/L/memberships/M` once registered. */
  membership?: string;
  /** True when the membership was made through the Fleet API rather than by GKE at creation. */
  preRegistered?: boolean;
}

export interface PrivateClusterConfig {
  enablePrivateNodes?: boolean;
  enablePrivateEndpoint?: boolean;
  masterIpv4CidrBlock?: string;
  privateEndpointSubnetwork?: string;
  privateEndpoint?: string;
  publicEndpoint?: string;
  peeringName?: string;
  [field: string]: unknown;
}

/** What a create request (or a seed) may say about the cluster; fields the sandbox does not read pass through. */
export interface ClusterSpec {
  description?: string;
  /** Short name, `projects/P/global/networks/N`, or its URL; default `default`. */
  network?: string;
  /** Short name, `projects/P/regions/R/subnetworks/S`, or its URL; default the network's name. */
  subnetwork?: string;
  /** Node zones; regional clusters default to three zones of the region. */
  locations?: string[];
  initialClusterVersion?: string;
  resourceLabels?: Record<string, string>;
  /** Present without `useIpAliases: true` = routes-based; absent = VPC-native (the GKE default). */
  ipAllocationPolicy?: { useIpAliases?: boolean; [field: string]: unknown };
  privateClusterConfig?: PrivateClusterConfig;
  workloadIdentityConfig?: { workloadPool?: string };
  /** `fleet.project` set = born in the fleet: GKE registers the membership while creating the cluster. */
  fleet?: { project?: string };
  /** Node pools to create; without them GKE creates `default-pool` from `initialNodeCount`/`nodeConfig`. */
  nodePools?: NodePoolSpec[];
  initialNodeCount?: number;
  nodeConfig?: NodeConfig;
  /** `addonsConfig.httpLoadBalancing.disabled: true` turns off the add-on MCS needs (on by default). */
  addonsConfig?: { httpLoadBalancing?: { disabled?: boolean }; [addon: string]: unknown };
  [field: string]: unknown;
}

export type MetadataMode = 'GCE_METADATA' | 'GKE_METADATA' | 'MODE_UNSPECIFIED';

export interface NodeConfig {
  machineType?: string;
  workloadMetadataConfig?: { mode?: MetadataMode };
  [field: string]: unknown;
}

export interface NodePoolSpec {
  name?: string;
  initialNodeCount?: number;
  config?: NodeConfig;
  upgradeSettings?: { maxSurge?: number; maxUnavailable?: number; [field: string]: unknown };
  [field: string]: unknown;
}

export interface NodePool extends NodePoolSpec {
  name: string;
  config: NodeConfig & { workloadMetadataConfig: { mode: MetadataMode } };
  initialNodeCount: number;
  locations: string[];
  status: 'PROVISIONING' | 'RUNNING' | 'RECONCILING' | 'STOPPING' | 'ERROR';
  selfLink: string;
  version: string;
  upgradeSettings: { maxSurge: number; maxUnavailable: number; strategy: string };
}

export interface Cluster extends ClusterSpec {
  name: string;
  selfLink: string;
  id: string;
  location: string;
  /** Deprecated, but GKE still fills it: the location, zone or region. */
  zone: string;
  locations: string[];
  status: ClusterStatus;
  statusMessage?: string;
  createTime: string;
  currentMasterVersion: string;
  currentNodeVersion: string;
  network: string;
  subnetwork: string;
  networkConfig: { network: string; subnetwork: string; [field: string]: unknown };
  ipAllocationPolicy: { useIpAliases?: boolean; [field: string]: unknown };
  privateClusterConfig: PrivateClusterConfig;
  workloadIdentityConfig?: { workloadPool: string };
  fleet?: FleetConfig;
  nodePools: NodePool[];
  addonsConfig: { httpLoadBalancing: { disabled?: boolean }; [addon: string]: unknown };
  endpoint: string;
  masterAuth: { clusterCaCertificate: string; [field: string]: unknown };
  resourceLabels: Record<string, string>;
  labelFingerprint: string;
  conditions?: Array<{ message: string; canonicalCode: string }>;
}

/** The proto's Operation.Type names; a node-pool update is `UPGRADE_NODES` ("includes most forms of updates to node pools"). */
export type OperationType = 'CREATE_CLUSTER' | 'DELETE_CLUSTER' | 'UPDATE_CLUSTER' | 'UPGRADE_NODES';

export interface Operation {
  name: string;
  zone: string;
  location: string;
  operationType: OperationType;
  status: 'RUNNING' | 'DONE';
  selfLink: string;
  targetLink: string;
  startTime: string;
  endTime?: string;
  statusMessage?: string;
  error?: { code: number; message: string };
}

/** The project and short name of a network or subnetwork reference in any of the forms GKE accepts. */
function parseNetworkRef(
  ref: string,
  kind: 'networks' | 'subnetworks',
): { project?: string; region?: string; name: string } {
  const path = ref.replace(/^https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\//, '');
  if (!path.includes('/')) return { name: path };
  const pattern =
    kind === 'networks'
      ? /^projects\/([^/]+)\/global\/networks\/([^/]+)$/
      : /^projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/]+)$/;
  const match = pattern.exec(path);
  if (!match) throw invalidArgument(`Invalid ${kind === 'networks' ? 'network' : 'subnetwork'} "${ref}".`);
  return kind === 'networks'
    ? { project: match[1], name: match[2] }
    : { project: match[1], region: match[2], name: match[3] };
}

/** The control plane's private address GKE takes from the /28 given for a peering-based private cluster. */
function privateEndpointIn(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/28$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number);
  if (!octets || octets.some((o) => o > 255) || octets[3] % 16 !== 0) {
    throw invalidArgument(`Invalid master authorized CIDR block "${cidr}": want an aligned IPv4 /28.`);
  }
  return `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3] + 2}`;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** `gke-n` + 16 hex + `-` 4 hex + `-` 4 hex + `-peer`, the shape of GKE's control-plane peering names. */
export const newPeeringName = () => `gke-n${hex(8)}-${hex(2)}-${hex(2)}-peer`;

export const newOperationName = () => `operation-${Date.now()}-${hex(4)}`;

export function labelFingerprint(labels: Record<string, string>): string {
  const canonical = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}

function privateConfig(spec: PrivateClusterConfig | undefined, id: string): PrivateClusterConfig {
  const publicEndpoint = `34.${parseInt(id.slice(0, 2), 16)}.${parseInt(id.slice(2, 4), 16)}.${parseInt(id.slice(4, 6), 16)}`;
  const given = { ...spec };
  delete given.peeringName;
  if (given.masterIpv4CidrBlock && !given.enablePrivateNodes) {
    throw invalidArgument('privateClusterConfig.masterIpv4CidrBlock is only allowed on a private cluster.');
  }
  // Peering-based private cluster: GKE peers its control-plane VPC with the cluster's network.
  if (given.enablePrivateNodes && given.masterIpv4CidrBlock && !given.privateEndpointSubnetwork) {
    return {
      ...given,
      privateEndpoint: privateEndpointIn(given.masterIpv4CidrBlock),
      publicEndpoint,
      peeringName: newPeeringName(),
    };
  }
  // Private Service Connect (every public cluster too since 2022): an endpoint in the subnet, no peering.
  return { ...given, privateEndpoint: `10.${parseInt(id.slice(6, 8), 16)}.0.2`, publicEndpoint };
}

const ipv4ToInt = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const intToIpv4 = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

function cidrSpan(cidr: string): [number, number] | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!match || Number(match[2]) > 32 || match[1].split('.').some((o) => Number(o) > 255)) return undefined;
  const size = 2 ** (32 - Number(match[2]));
  const start = Math.floor(ipv4ToInt(match[1]) / size) * size;
  return [start, start + size];
}

/**
 * `ipAllocationPolicy.clusterIpv4CidrBlock` as GKE fills it (the proto's comment on the field): a CIDR asks for
 * that range; `/N` or blank asks GKE to choose one of that size (default /14). gcloud's `--cluster-ipv4-cidr`
 * help: the chosen range comes from 10.0.0.0/8 and excludes ranges allocated to other clusters.
 */
function podRange(requested: unknown, taken: readonly string[]): string {
  const asked = typeof requested === 'string' ? requested.trim() : '';
  if (asked && !asked.startsWith('/')) {
    if (!cidrSpan(asked)) throw invalidArgument(`Invalid cluster IPv4 CIDR block "${asked}".`);
    return asked;
  }
  const prefix = asked ? Number(asked.slice(1)) : 14;
  if (!Number.isInteger(prefix) || prefix < 9 || prefix > 28) {
    throw invalidArgument(`Invalid cluster IPv4 CIDR block "${asked}".`);
  }
  const size = 2 ** (32 - prefix);
  const spans = taken.map(cidrSpan).filter((span): span is [number, number] => span !== undefined);
  const base = ipv4ToInt('10.0.0.0');
  // Deterministic (GKE picks at random): first free block from 10.4.0.0 on, wrapping around 10.0.0.0/8.
  const first = ipv4ToInt('10.4.0.0');
  for (let i = 0; i < 2 ** 24 / size; i++) {
    const start = base + ((first - base + i * size) % 2 ** 24);
    if (spans.every(([s, e]) => start + size <= s || start >= e)) return `${intToIpv4(start)}/${prefix}`;
  }
  // GKE would refuse the cluster here; the stand-in overlaps instead, so benchmarks can seed hundreds of clusters
  // into one network (docs/local-cloud.md, known differences).
  return `${intToIpv4(first)}/${prefix}`;
}

/** The Service range: the CIDR asked for, else GKE's default `34.118.224.0/20` (see docs/local-cloud.md). */
function servicesRange(requested: unknown): string {
  const asked = typeof requested === 'string' ? requested.trim() : '';
  if (!asked || asked.startsWith('/')) return '34.118.224.0/20';
  if (!cidrSpan(asked)) throw invalidArgument(`Invalid services IPv4 CIDR block "${asked}".`);
  return asked;
}

/**
 * A new cluster as GKE shows it while provisioning: everything but the endpoint and CA is known. `takenPodRanges`
 * are the pod ranges of the other clusters in its network, which an automatically chosen range avoids.
 */
export function buildCluster(
  ref: ClusterRef,
  spec: ClusterSpec,
  now = new Date(),
  takenPodRanges: readonly string[] = [],
): Cluster {
  validateProject(ref.project);
  validateLocation(ref.location);
  validateClusterName(ref.name);
  const region = regionOf(ref.location);
  const network = parseNetworkRef(spec.network || 'default', 'networks');
  const subnetwork = parseNetworkRef(spec.subnetwork || network.name, 'subnetworks');
  if (subnetwork.region && subnetwork.region !== region) {
    throw invalidArgument(`Subnetwork "${spec.subnetwork}" is not in region ${region}.`);
  }
  const networkProject = network.project ?? ref.project;
  const pool = spec.workloadIdentityConfig?.workloadPool;
  if (pool) validateWorkloadPool(pool, ref.project);
  const id = hex(32);
  const version = /^\d+\.\d+\.\d+-gke\.\d+$/.test(spec.initialClusterVersion ?? '')
    ? spec.initialClusterVersion!
    : DEFAULT_MASTER_VERSION;
  const locations = spec.locations?.length
    ? spec.locations
    : isZone(ref.location)
      ? [ref.location]
      : ['a', 'b', 'c'].map((z) => `${region}-${z}`);
  const vpcNative = spec.ipAllocationPolicy ? spec.ipAllocationPolicy.useIpAliases === true : true;
  const pods = podRange(
    vpcNative ? spec.ipAllocationPolicy?.clusterIpv4CidrBlock : spec.clusterIpv4Cidr,
    takenPodRanges,
  );
  const services = vpcNative ? servicesRange(spec.ipAllocationPolicy?.servicesIpv4CidrBlock) : '';
  const resourceLabels = { ...spec.resourceLabels };
  const cluster: Cluster = {
    ...spec,
    name: ref.name,
    selfLink: `${API_ROOT}/${locationPath(ref.project, ref.location)}/clusters/${ref.name}`,
    id,
    location: ref.location,
    zone: ref.location,
    locations,
    status: 'PROVISIONING',
    createTime: now.toISOString(),
    initialClusterVersion: version,
    currentMasterVersion: version,
    currentNodeVersion: version,
    network: network.name,
    subnetwork: subnetwork.name,
    networkConfig: {
      ...(spec.networkConfig as object | undefined),
      network: `projects/${networkProject}/global/networks/${network.name}`,
      subnetwork: `projects/${subnetwork.project ?? networkProject}/regions/${region}/subnetworks/${subnetwork.name}`,
    },
    ipAllocationPolicy: vpcNative
      ? {
          ...spec.ipAllocationPolicy,
          useIpAliases: true,
          clusterIpv4Cidr: pods,
          clusterIpv4CidrBlock: pods,
          servicesIpv4Cidr: services,
          servicesIpv4CidrBlock: services,
          stackType: 'IPV4',
        }
      : { ...spec.ipAllocationPolicy, useIpAliases: false },
    clusterIpv4Cidr: pods,
    privateClusterConfig: privateConfig(spec.privateClusterConfig, id),
    workloadIdentityConfig: pool ? { workloadPool: pool } : undefined,
    fleet: spec.fleet?.project ? { project: spec.fleet.project } : undefined,
    nodePools: buildNodePools(ref, spec, locations, version, Boolean(pool)),
    addonsConfig: {
      ...spec.addonsConfig,
      // gcloud's DEFAULT_ADDONS: HttpLoadBalancing is on unless the request turns it off.
      httpLoadBalancing: { ...spec.addonsConfig?.httpLoadBalancing },
    },
    endpoint: '',
    masterAuth: { ...(spec.masterAuth as object | undefined), clusterCaCertificate: '' },
    resourceLabels,
    labelFingerprint: labelFingerprint(resourceLabels),
  };
  if (!cluster.workloadIdentityConfig) delete cluster.workloadIdentityConfig;
  if (!cluster.fleet) delete cluster.fleet;
  return cluster;
}

/**
 * gcloud's `--workload-pool` help: "the only accepted workload pool is the workload pool of the Cloud project
 * containing the cluster, PROJECT_ID.svc.id.goog". (GKE's exact wording of the refusal is not published.)
 */
export function validateWorkloadPool(pool: string, project: string): void {
  if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]\.svc\.id\.goog$/.test(pool)) {
    throw invalidArgument(`Invalid workload pool "${pool}": want PROJECT_ID.svc.id.goog.`);
  }
  if (pool !== `${project}.svc.id.goog`) {
    throw invalidArgument(
      `Workload pool "${pool}" is not allowed: the only accepted workload pool is ${project}.svc.id.goog, the pool of the project containing the cluster.`,
    );
  }
}

/** The proto: GKE_METADATA "can only be enabled if Workload Identity is enabled at the cluster level". */
export function metadataServerNeedsWorkloadIdentity(pool: string): never {
  throw failedPrecondition(
    `Node pool ${pool}: workload metadata mode GKE_METADATA can only be enabled if Workload Identity is enabled at the cluster level.`,
  );
}

/**
 * Node pools as GKE creates them: the request's, or `default-pool` (gcloud's default, 3 nodes per zone). A cluster
 * created with a workload pool gets GKE_METADATA on its pools; without one, GCE_METADATA.
 */
function buildNodePools(
  ref: ClusterRef,
  spec: ClusterSpec,
  locations: string[],
  version: string,
  workloadIdentity: boolean,
): NodePool[] {
  const specs: NodePoolSpec[] = spec.nodePools?.length
    ? spec.nodePools
    : [{ name: 'default-pool', initialNodeCount: spec.initialNodeCount ?? 3, config: spec.nodeConfig }];
  return specs.map((given) => {
    const name = given.name ?? '';
    if (!/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(name))
      throw invalidArgument(`Invalid node pool name "${name}".`);
    const mode =
      given.config?.workloadMetadataConfig?.mode || (workloadIdentity ? 'GKE_METADATA' : 'GCE_METADATA');
    if (mode === 'GKE_METADATA' && !workloadIdentity) metadataServerNeedsWorkloadIdentity(name);
    return {
      ...given,
      name,
      config: { machineType: 'e2-medium', ...given.config, workloadMetadataConfig: { mode } },
      initialNodeCount: given.initialNodeCount ?? 3,
      locations,
      status: 'PROVISIONING',
      selfLink: `${API_ROOT}/${locationPath(ref.project, ref.location)}/clusters/${ref.name}/nodePools/${name}`,
      version,
      upgradeSettings: { maxSurge: 1, maxUnavailable: 0, strategy: 'SURGE', ...given.upgradeSettings },
    };
  });
}

export function newOperation(
  ref: ClusterRef,
  type: OperationType,
  now = new Date(),
  nodePool?: string,
): Operation {
  const name = newOperationName();
  const where = locationPath(ref.project, ref.location);
  return {
    name,
    zone: ref.location,
    location: ref.location,
    operationType: type,
    status: 'RUNNING',
    selfLink: `${API_ROOT}/${where}/operations/${name}`,
    targetLink: `${API_ROOT}/${where}/clusters/${ref.name}${nodePool ? `/nodePools/${nodePool}` : ''}`,
    startTime: now.toISOString(),
  };
}
