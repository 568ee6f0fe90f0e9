/**
 * Audit LogEntries as Google writes them, for the stand-ins to emit. Shapes follow real Admin Activity entries:
 * - container.googleapis.com long-running methods write two entries sharing `operation.id`: the `first` one
 *   (full request, response = the Operation, principal) and the sparse `last` one (no request, response or
 *   principal, only `metadata.operationType`; the resource labels say which cluster). A call refused before an
 *   operation starts (e.g. INVALID_ARGUMENT) writes one entry with the error status and no `operation`.
 * - GKE's Kubernetes audit (serviceName `k8s.io`, resource type `k8s_cluster`) writes one entry per write with
 *   the request and response bodies and the caller; its `operation` is `{id: insertId, producer: 'k8s.io',
 *   first: true, last: true}` because Kubernetes has no long-running operations.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ClusterRef, LogEntry } from '../../shared/events/types';

export type ClusterMethod = 'CreateCluster' | 'DeleteCluster' | 'UpdateCluster';

export interface ClusterEntryInput {
  method: ClusterMethod;
  /** `first` with a non-zero `statusCode` is a call refused up front: one entry, no `operation`. */
  phase: 'first' | 'last';
  cluster: ClusterRef;
  operationId: string;
  /** Caller; only the first entry carries it. */
  principal?: string;
  /** API version in the method name; GKE writes v1 or v1beta1 depending on the caller. */
  apiVersion?: 'v1' | 'v1beta1';
  /** gRPC status code of the outcome (last entry); 0 or absent = success. */
  statusCode?: number;
  statusMessage?: string;
  request?: Record<string, unknown>;
  response?: Record<string, unknown>;
  timestamp?: Date;
}

/** Zonal clusters are named with `zones/` in resourceName, regional ones with `locations/` — as GKE does. */
export function clusterResourceName(ref: ClusterRef): string {
  const zonal = /^[a-z]+-[a-z]+\d+-[a-z]$/.test(ref.location);
  return `projects/${ref.project}/${zonal ? 'zones' : 'locations'}/${ref.location}/clusters/${ref.name}`;
}

export function clusterAuditEntry(input: ClusterEntryInput): LogEntry {
  const { cluster, phase } = input;
  const version = input.apiVersion ?? 'v1';
  const time = (input.timestamp ?? new Date()).toISOString();
  const failed = input.statusCode !== undefined && input.statusCode !== 0;
  const resourceName = clusterResourceName(cluster);
  const protoPayload: LogEntry['protoPayload'] = {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    serviceName: 'container.googleapis.com',
    methodName: `google.container.${version}.ClusterManager.${input.method}`,
    resourceName,
    resourceLocation: { currentLocations: [cluster.location] },
  };
  // GKE writes `status: {}` on a successful last entry and no status on a successful first one.
  if (failed) protoPayload.status = { code: input.statusCode, message: input.statusMessage ?? '' };
  else if (phase === 'last') protoPayload.status = {};
  if (phase === 'first') {
    if (input.principal) protoPayload.authenticationInfo = { principalEmail: input.principal };
    protoPayload.requestMetadata = { callerIp: '127.0.0.1', callerSuppliedUserAgent: 'spokefleet-sandbox' };
    protoPayload.authorizationInfo = [
      {
        permission: `container.clusters.${input.method.replace('Cluster', '').toLowerCase()}`,
        granted: true,
        resource: resourceName,
        permissionType: 'ADMIN_WRITE',
        resourceAttributes: {
          name: resourceName,
          service: 'container.googleapis.com',
          type: 'container.googleapis.com/Cluster',
        },
      },
    ];
    if (input.request) protoPayload.request = input.request;
    if (input.response) protoPayload.response = input.response;
  } else {
    protoPayload.metadata = { operationType: OPERATION_TYPES[input.method] };
  }
  const entry: LogEntry = {
    protoPayload,
    insertId: randomBytes(6).toString('hex'),
    resource: {
      type: 'gke_cluster',
      labels: { project_id: cluster.project, location: cluster.location, cluster_name: cluster.name },
    },
    timestamp: time,
    severity: failed ? 'ERROR' : 'NOTICE',
    logName: `projects/${cluster.project}/logs/cloudaudit.googleapis.com%2Factivity`,
    receiveTimestamp: time,
  };
  if (!(phase === 'first' && failed)) {
    entry.operation = {
      id: input.operationId,
      producer: 'container.googleapis.com',
      ...(phase === 'first' ? { first: true } : { last: true }),
    };
  }
  return entry;
}

const OPERATION_TYPES: Record<ClusterMethod, string> = {
  CreateCluster: 'CREATE_CLUSTER',
  DeleteCluster: 'DELETE_CLUSTER',
  UpdateCluster: 'UPDATE_CLUSTER',
};

export type ServiceVerb = 'create' | 'update' | 'patch' | 'delete';

export interface ServiceEntryInput {
  verb: ServiceVerb;
  cluster: ClusterRef;
  namespace: string;
  name: string;
  principal: string;
  /** Request body as received (a patch is only the patch). */
  request?: Record<string, unknown>;
  /** Response body (the Service after the write; a Status for delete). */
  response?: Record<string, unknown>;
  /** HTTP-ish outcome: 0 on success, else the gRPC-style code GKE records. */
  statusCode?: number;
  userAgent?: string;
  timestamp?: Date;
}

const REQUEST_TYPES: Record<ServiceVerb, string> = {
  create: 'core.k8s.io/v1.Service',
  update: 'core.k8s.io/v1.Service',
  patch: 'k8s.io/Patch',
  delete: 'meta.k8s.io/__internal.DeleteOptions',
};

export function serviceAuditEntry(input: ServiceEntryInput): LogEntry {
  const { cluster } = input;
  const time = (input.timestamp ?? new Date()).toISOString();
  const resourceName = `core/v1/namespaces/${input.namespace}/services/${input.name}`;
  const methodName = `io.k8s.core.v1.services.${input.verb}`;
  const protoPayload: LogEntry['protoPayload'] = {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    authenticationInfo: { principalEmail: input.principal },
    authorizationInfo: [{ granted: true, permission: methodName, resource: resourceName }],
    methodName,
    requestMetadata: {
      callerIp: '127.0.0.1',
      callerSuppliedUserAgent: input.userAgent ?? 'spokefleet-sandbox',
    },
    resourceName,
    serviceName: 'k8s.io',
    status: { code: input.statusCode ?? 0 },
  };
  if (input.request) protoPayload.request = { '@type': REQUEST_TYPES[input.verb], ...input.request };
  if (input.response) {
    const type = input.verb === 'delete' ? 'core.k8s.io/v1.Status' : 'core.k8s.io/v1.Service';
    protoPayload.response = { '@type': type, ...input.response };
  }
  const insertId = randomUUID();
  return {
    protoPayload,
    insertId,
    resource: {
      type: 'k8s_cluster',
      labels: { project_id: cluster.project, location: cluster.location, cluster_name: cluster.name },
    },
    timestamp: time,
    // GKE's Kubernetes audit entries carry no severity.
    logName: `projects/${cluster.project}/logs/cloudaudit.googleapis.com%2Factivity`,
    labels: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    operation: { id: insertId, producer: 'k8s.io', first: true, last: true },
    receiveTimestamp: time,
  };
}
