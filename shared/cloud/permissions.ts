/**
 * The one table of what Spokefleet calls and what each call needs ("every entry point documents the IAM
 * permissions it needs"). One row per client method the adapters in this folder call. Terraform's custom role
 * (terraform/locals.tf `custom_role_permissions`), the Connect gateway role binding, the Kubernetes ClusterRole
 * (terraform/rbac/) and docs/iam.md are all checked against it by test/unit/permissions.test.ts and
 * test/unit/terraform.test.ts, and that test also reads the adapters' source and fails on a client method that
 * has no row here (or a row whose method the adapters no longer call).
 *
 * Data only: nothing in the runtime imports this file.
 */

/** Where a permission is checked: the fleet host project, the cluster's project, or the project of its VPC. */
export type ProjectScope = 'fleet' | 'cluster' | 'network';

/**
 * The custom role's permission sets, one per project capacity. `cluster_write` holds what only a step that changes
 * a cluster or its node pools needs (`writes: true` rows): Terraform grants it only when such a step can run
 * (workload identity `enable`, or node pools not `report`), so a deployment that only checks never holds
 * `container.clusters.update`.
 */
export type Capacity = 'fleet' | 'cluster' | 'cluster_write' | 'network';

/** The client objects the adapters hold, named as the test finds them in the source (`this.<accessor>`). */
export const CLIENTS = {
  /** @google-cloud/container ClusterManagerClient (gRPC), clusters.ts */
  container: { file: 'clusters.ts', accessor: 'client', service: 'container.googleapis.com' },
  /** @google-cloud/compute NetworksClient (REST), peering.ts */
  networks: { file: 'peering.ts', accessor: 'networks', service: 'compute.googleapis.com' },
  /** @google-cloud/compute SubnetworksClient (REST), peering.ts */
  subnetworks: { file: 'peering.ts', accessor: 'subnetworks', service: 'compute.googleapis.com' },
  /** @google-cloud/compute GlobalOperationsClient (REST), peering.ts */
  globalOperations: { file: 'peering.ts', accessor: 'operations', service: 'compute.googleapis.com' },
  /** googleapis gkehub v1 (REST), fleet.ts */
  gkehub: { file: 'fleet.ts', accessor: 'hub', service: 'gkehub.googleapis.com' },
  /** googleapis cloudresourcemanager v3 (REST), projects.ts */
  resourcemanager: { file: 'projects.ts', accessor: 'crm', service: 'cloudresourcemanager.googleapis.com' },
  /** @kubernetes/client-node CoreV1Api, kube.ts */
  core: { file: 'kube.ts', accessor: 'core', service: 'kubernetes' },
  /** @kubernetes/client-node CustomObjectsApi, kube.ts (only ever net.gke.io/v1 serviceexports) */
  custom: { file: 'kube.ts', accessor: 'custom', service: 'kubernetes' },
  /** @kubernetes/client-node CustomObjectsApi, kube.ts (only ever net.gke.io/v1 serviceimports, read-only) */
  imports: { file: 'kube.ts', accessor: 'imports', service: 'kubernetes' },
  /** @kubernetes/client-node DiscoveryV1Api, kube.ts */
  discovery: { file: 'kube.ts', accessor: 'discovery', service: 'kubernetes' },
  /** @google-cloud/pubsub PubSub (gRPC), publisher.ts: the fan-out's cluster requests */
  pubsub: { file: 'publisher.ts', accessor: 'pubsub', service: 'pubsub.googleapis.com' },
} as const;

export type ClientName = keyof typeof CLIENTS;

/** How the permission reaches the functions' service account. */
export type Grant =
  /** Spokefleet's custom role (`google_project_iam_custom_role`), bound in every project of `project`. */
  | 'custom-role'
  /** The predefined Connect gateway role, bound in the fleet project when `kube_access = "connectGateway"`. */
  | 'roles/gkehub.gatewayEditor';

/** One Kubernetes RBAC rule: the verb on a resource of an API group (`''` is the core group). */
export interface RbacRule {
  apiGroup: string;
  resource: string;
  verb: 'get' | 'list' | 'create' | 'delete';
}

export interface GoogleApiCall {
  client: Exclude<ClientName, 'core' | 'custom' | 'discovery'>;
  /** The method as the adapter calls it on the client, e.g. `getCluster`, `projects.locations.memberships.list`. */
  method: string;
  /** The REST/RPC name in Google's reference, for the docs. */
  api: string;
  permissions: string[];
  project: ProjectScope;
  /**
   * `custom-role`: in Spokefleet's custom role, bound in the projects of `project`. `topic`: granted on the one
   * resource it addresses, never project-wide (TOPIC_GRANTS).
   */
  grant: 'custom-role' | 'topic';
  /** Only a step that writes the cluster or its node pools makes this call (see Capacity `cluster_write`). */
  writes?: true;
  /**
   * Set while the adapter does not make this call yet (it is being added with the step that needs it): the grant
   * is already in the role and docs. test/unit/permissions.test.ts fails once the adapter makes the call and the
   * mark is still here, so the mark never outlives the change that brings the call.
   */
  pending?: string;
  why: string;
}

export interface KubernetesCall {
  client: Extract<ClientName, 'core' | 'custom' | 'imports' | 'discovery'>;
  method: string;
  /** The HTTP verb the client sends; through the Connect gateway it is authorised as `gkehub.gateway.<verb>`. */
  http: 'GET' | 'POST' | 'DELETE';
  rbac: RbacRule;
  /**
   * GKE's IAM equivalent of the RBAC rule. GKE authorises a Kubernetes request if IAM or RBAC allows it, so
   * `kubernetes_authorization = "iam"` in Terraform grants these project-wide instead of installing RBAC in
   * every cluster.
   */
  gkeIam: string;
  why: string;
}

export type ApiCall = GoogleApiCall | KubernetesCall;

const google = (
  client: GoogleApiCall['client'],
  method: string,
  api: string,
  permissions: string[],
  project: ProjectScope,
  why: string,
  extra: Partial<Pick<GoogleApiCall, 'writes' | 'pending' | 'grant'>> = {},
): GoogleApiCall => ({ client, method, api, permissions, project, grant: 'custom-role', ...extra, why });

const kube = (
  client: KubernetesCall['client'],
  method: string,
  http: KubernetesCall['http'],
  rbac: RbacRule,
  gkeIam: string,
  why: string,
): KubernetesCall => ({ client, method, http, rbac, gkeIam, why });

const CORE = '';
const MCS = 'net.gke.io';
const DISCOVERY = 'discovery.k8s.io';

export const API_CALLS: readonly ApiCall[] = Object.freeze([
  // --- GKE (ClusterManager, gRPC) ---
  google(
    'container',
    'getCluster',
    'ClusterManager.GetCluster',
    ['container.clusters.get'],
    'cluster',
    'read network, VPC-native flag, workload pool, peering name, fleet membership and endpoint of a cluster',
  ),
  google(
    'container',
    'listClusters',
    'ClusterManager.ListClusters',
    ['container.clusters.list'],
    'cluster',
    'project- and fleet-wide reconcile requests enumerate every cluster of an allowed project (locations/-)',
  ),
  google(
    'container',
    'updateCluster',
    'ClusterManager.UpdateCluster',
    ['container.clusters.update'],
    'cluster',
    "turn on workload identity with the cluster's own project's pool (workloadIdentity.policy = enable)",
    { writes: true },
  ),
  google(
    'container',
    'updateNodePool',
    'ClusterManager.UpdateNodePool',
    // Google's GKE API reference: projects.locations.clusters.nodePools.update needs container.clusters.update.
    ['container.clusters.update'],
    'cluster',
    'move a node pool to the GKE metadata server (workloadIdentity.nodePools = migrate or migrate-new)',
    { writes: true },
  ),
  google(
    'container',
    'getOperation',
    'ClusterManager.GetOperation',
    ['container.operations.get'],
    'cluster',
    'wait for the UpdateCluster and UpdateNodePool operations before the next step',
  ),
  google(
    'container',
    'listOperations',
    'ClusterManager.ListOperations',
    // Google's GKE API reference: projects.locations.operations.list needs container.operations.list.
    ['container.operations.list'],
    'cluster',
    'find a cluster or node-pool operation that is still running (a redelivered event waits for it instead of starting another)',
  ),
  // --- Compute (networks, REST) ---
  google(
    'networks',
    'get',
    'networks.get',
    ['compute.networks.get'],
    'network',
    "read the control-plane peering's exportCustomRoutes and the VPC's subnetworks",
  ),
  google(
    'networks',
    'updatePeering',
    'networks.updatePeering',
    ['compute.networks.updatePeering'],
    'network',
    'export the VPC custom routes (the Aviatrix-programmed ones) to the control plane',
  ),
  google(
    'subnetworks',
    'get',
    'subnetworks.get',
    ['compute.subnetworks.get'],
    'network',
    'the subnet ranges a spoke gateway advertises by default, kept when its include list is first customised (aviatrix.advertise only)',
  ),
  google(
    'globalOperations',
    'wait',
    'globalOperations.wait',
    ['compute.globalOperations.get'],
    'network',
    'wait for the updatePeering operation (wait is authorised like get)',
  ),
  google(
    'globalOperations',
    'list',
    'globalOperations.list',
    ['compute.globalOperations.list'],
    'network',
    'find a peering operation still running on the VPC (a redelivered event waits for it instead of failing)',
  ),
  // --- Fleet (gkehub v1, REST) ---
  google(
    'gkehub',
    'projects.locations.memberships.list',
    'projects.locations.memberships.list',
    ['gkehub.memberships.list'],
    'fleet',
    'find the membership of a cluster and count exporting clusters',
  ),
  google(
    'gkehub',
    'projects.locations.memberships.get',
    'projects.locations.memberships.get',
    ['gkehub.memberships.get'],
    'fleet',
    'poll a membership that is CREATING or UPDATING (started by an earlier invocation) until it settles',
  ),
  google(
    'gkehub',
    'projects.locations.memberships.create',
    'projects.locations.memberships.create',
    ['gkehub.memberships.create'],
    'fleet',
    'register a cluster to the fleet with workload identity',
  ),
  google(
    'gkehub',
    'projects.locations.memberships.delete',
    'projects.locations.memberships.delete',
    ['gkehub.memberships.delete'],
    'fleet',
    'remove the managed membership of a deleted cluster',
  ),
  google(
    'gkehub',
    'projects.locations.memberships.patch',
    'projects.locations.memberships.patch',
    ['gkehub.memberships.update'],
    'fleet',
    "set the workload identity issuer on an existing membership that lacks it (updateMask 'authority')",
  ),
  google(
    'gkehub',
    'projects.locations.features.get',
    'projects.locations.features.get',
    ['gkehub.features.get'],
    'fleet',
    'check that the multiclusterservicediscovery feature exists',
  ),
  google(
    'gkehub',
    'projects.locations.features.create',
    'projects.locations.features.create',
    ['gkehub.features.create'],
    'fleet',
    'enable multiclusterservicediscovery when it is missing',
  ),
  google(
    'gkehub',
    'projects.locations.operations.get',
    'projects.locations.operations.get',
    ['gkehub.operations.get'],
    'fleet',
    'wait for membership and feature long-running operations',
  ),
  // --- Resource Manager (v3, REST) ---
  google(
    'resourcemanager',
    'projects.get',
    'projects.get',
    ['resourcemanager.projects.get'],
    'fleet',
    'the Connect gateway URL addresses the fleet project by number',
  ),
  // --- Pub/Sub (gRPC): the fan-out publishes cluster requests to the reconcile topic ---
  google(
    'pubsub',
    'topic',
    'Publisher.Publish',
    ['pubsub.topics.publish'],
    'fleet',
    'publish one cluster request per cluster of a project- or fleet-wide request (the Topic object batches them)',
    { grant: 'topic' },
  ),
  // --- Kubernetes, through the Connect gateway or at the cluster endpoint ---
  kube(
    'core',
    'readNamespace',
    'GET',
    { apiGroup: CORE, resource: 'namespaces', verb: 'get' },
    'container.namespaces.get',
    'does a seed namespace exist',
  ),
  kube(
    'core',
    'createNamespace',
    'POST',
    { apiGroup: CORE, resource: 'namespaces', verb: 'create' },
    'container.namespaces.create',
    'create a missing seed namespace',
  ),
  kube(
    'core',
    'readNamespacedService',
    'GET',
    { apiGroup: CORE, resource: 'services', verb: 'get' },
    'container.services.get',
    're-read the Service an audit event names (level-based)',
  ),
  kube(
    'core',
    'listServiceForAllNamespaces',
    'GET',
    { apiGroup: CORE, resource: 'services', verb: 'list' },
    'container.services.list',
    'find every Service labelled for export',
  ),
  kube(
    'imports',
    'listClusterCustomObject',
    'GET',
    { apiGroup: MCS, resource: 'serviceimports', verb: 'list' },
    'container.thirdPartyObjects.list',
    "every import of a member cluster: is an exported Service imported there (its export's health, `status --services`)",
  ),
  kube(
    'custom',
    'getNamespacedCustomObject',
    'GET',
    { apiGroup: MCS, resource: 'serviceexports', verb: 'get' },
    'container.thirdPartyObjects.get',
    'read the ServiceExport of a Service',
  ),
  kube(
    'custom',
    'listClusterCustomObject',
    'GET',
    { apiGroup: MCS, resource: 'serviceexports', verb: 'list' },
    'container.thirdPartyObjects.list',
    'find managed ServiceExports that outlived their label or Service',
  ),
  kube(
    'custom',
    'createNamespacedCustomObject',
    'POST',
    { apiGroup: MCS, resource: 'serviceexports', verb: 'create' },
    'container.thirdPartyObjects.create',
    'export a labelled Service',
  ),
  kube(
    'custom',
    'deleteNamespacedCustomObject',
    'DELETE',
    { apiGroup: MCS, resource: 'serviceexports', verb: 'delete' },
    'container.thirdPartyObjects.delete',
    'remove a managed ServiceExport (only managed ones)',
  ),
  kube(
    'discovery',
    'listNamespacedEndpointSlice',
    'GET',
    { apiGroup: DISCOVERY, resource: 'endpointslices', verb: 'list' },
    'container.endpointSlices.list',
    'count ready endpoints behind a Service for the 250-pod limit',
  ),
  kube(
    'core',
    'readNamespacedEvent',
    'GET',
    { apiGroup: CORE, resource: 'events', verb: 'get' },
    'container.events.get',
    'fold a repeated refusal into the Event already recorded',
  ),
  kube(
    'core',
    'listEventForAllNamespaces',
    'GET',
    { apiGroup: CORE, resource: 'events', verb: 'list' },
    'container.events.list',
    'the ExportHealth Events already recorded in a cluster: one list per invocation, not a read per Service',
  ),
  kube(
    'core',
    'createNamespacedEvent',
    'POST',
    { apiGroup: CORE, resource: 'events', verb: 'create' },
    'container.events.create',
    'record a refusal (MCS limit, policy) as an Event on the Service',
  ),
]);

export const isKubernetesCall = (call: ApiCall): call is KubernetesCall =>
  call.client === 'core' ||
  call.client === 'custom' ||
  call.client === 'imports' ||
  call.client === 'discovery';

export const isGoogleApiCall = (call: ApiCall): call is GoogleApiCall => !isKubernetesCall(call);

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The custom role's permissions for one project scope (or all scopes): sorted, without duplicates. */
export function customRolePermissions(scope?: ProjectScope): string[] {
  return sortedUnique(
    API_CALLS.filter(isGoogleApiCall)
      .filter((c) => c.grant === 'custom-role' && (scope === undefined || c.project === scope))
      .flatMap((c) => c.permissions),
  );
}

/**
 * The custom role's permissions per capacity. `cluster_write` holds the permissions only write rows need; a
 * permission a read row needs too stays in `cluster`. The capacities of a scope together are its permissions.
 */
export function capacityPermissions(capacity: Capacity): string[] {
  const calls = API_CALLS.filter(isGoogleApiCall).filter((c) => c.grant === 'custom-role');
  if (capacity === 'fleet' || capacity === 'network') return customRolePermissions(capacity);
  const reads = sortedUnique(
    calls.filter((c) => c.project === 'cluster' && !c.writes).flatMap((c) => c.permissions),
  );
  if (capacity === 'cluster') return reads;
  for (const call of calls.filter((c) => c.writes && c.project !== 'cluster'))
    throw new Error(`${call.method}: only cluster-scope rows can be write rows`);
  return sortedUnique(calls.filter((c) => c.writes).flatMap((c) => c.permissions)).filter(
    (p) => !reads.includes(p),
  );
}

/**
 * Grants on single resources rather than through the custom role. Fan-out: a project- or fleet-wide reconcile
 * request is split into one `cluster` request per cluster, published to the reconcile topic by the functions'
 * service account; it may publish to that topic and to nothing else (topic-level, not project-level).
 */
export const TOPIC_GRANTS = Object.freeze([
  {
    topic: 'reconcile',
    role: 'roles/pubsub.publisher',
    permissions: ['pubsub.topics.publish'],
    why: 'fan out a project- or fleet-wide reconcile request as one cluster request per cluster',
  },
] as const);

/** What the Connect gateway checks for the Kubernetes calls: `gkehub.gateway.<http verb>` in the fleet project. */
export function connectGatewayPermissions(): string[] {
  return sortedUnique(
    API_CALLS.filter(isKubernetesCall).map((c) => `gkehub.gateway.${c.http.toLowerCase()}`),
  );
}

/** The role that grants the Connect gateway permissions (a superset: it also has patch and put). */
export const CONNECT_GATEWAY_ROLE = 'roles/gkehub.gatewayEditor' satisfies Grant;

/** GKE IAM permissions equivalent to the ClusterRole, for `kubernetes_authorization = "iam"`. */
export function kubernetesIamPermissions(): string[] {
  return sortedUnique(API_CALLS.filter(isKubernetesCall).map((c) => c.gkeIam));
}

/** The ClusterRole's rules: one per (apiGroup, resource), verbs sorted, rules sorted by group then resource. */
export function kubernetesRbacRules(): Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> {
  const byResource = new Map<string, { apiGroup: string; resource: string; verbs: Set<string> }>();
  for (const call of API_CALLS.filter(isKubernetesCall)) {
    const key = `${call.rbac.apiGroup}/${call.rbac.resource}`;
    const entry = byResource.get(key) ?? {
      apiGroup: call.rbac.apiGroup,
      resource: call.rbac.resource,
      verbs: new Set(),
    };
    entry.verbs.add(call.rbac.verb);
    byResource.set(key, entry);
  }
  return [...byResource.values()]
    .sort((a, b) => a.apiGroup.localeCompare(b.apiGroup) || a.resource.localeCompare(b.resource))
    .map((e) => ({ apiGroups: [e.apiGroup], resources: [e.resource], verbs: [...e.verbs].sort() }));
}

/** The Google APIs each project scope must have enabled for these calls. */
export function servicesByScope(): Record<ProjectScope, string[]> {
  const result: Record<ProjectScope, Set<string>> = {
    fleet: new Set(),
    cluster: new Set(),
    network: new Set(),
  };
  // Topic grants address the reconcile topic, which lives in the host project with the functions (and its API).
  for (const call of API_CALLS.filter(isGoogleApiCall).filter((c) => c.grant === 'custom-role'))
    result[call.project].add(CLIENTS[call.client].service);
  return {
    fleet: [...result.fleet].sort(),
    cluster: [...result.cluster].sort(),
    network: [...result.network].sort(),
  };
}
