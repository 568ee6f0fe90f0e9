/**
 * The one list of audited methods Spokefleet acts on. The router looks methods up here and the
 * Cloud Logging sink filter is generated from it, so what the sink sends and what the parser accepts cannot
 * drift apart; a test compares the filter in terraform/ with `sinkFilter()`.
 */
import type { DomainEventKind } from './types';

export const CONTAINER_SERVICE = 'container.googleapis.com';
export const K8S_SERVICE = 'k8s.io';

export type AuditServiceName = typeof CONTAINER_SERVICE | typeof K8S_SERVICE;

export interface AuditMethod {
  serviceName: AuditServiceName;
  methodName: string;
  /** Monitored resource type the entry is written against. */
  resourceType: 'gke_cluster' | 'k8s_cluster';
  /** What a successful entry of this method becomes. */
  kind: Exclude<DomainEventKind, 'Ignored'>;
}

const clusterMethod = (version: 'v1' | 'v1beta1', rpc: 'CreateCluster' | 'DeleteCluster'): AuditMethod => ({
  serviceName: CONTAINER_SERVICE,
  methodName: `google.container.${version}.ClusterManager.${rpc}`,
  resourceType: 'gke_cluster',
  kind: rpc === 'CreateCluster' ? 'ClusterReady' : 'ClusterDeleted',
});

const serviceMethod = (verb: 'create' | 'update' | 'patch' | 'delete'): AuditMethod => ({
  serviceName: K8S_SERVICE,
  methodName: `io.k8s.core.v1.services.${verb}`,
  resourceType: 'k8s_cluster',
  kind: verb === 'delete' ? 'ServiceDeleted' : 'ServiceChanged',
});

// GKE writes v1 or v1beta1 depending on the caller (gcloud beta, Terraform google-beta, the console).
export const AUDIT_METHODS: readonly AuditMethod[] = Object.freeze([
  clusterMethod('v1', 'CreateCluster'),
  clusterMethod('v1beta1', 'CreateCluster'),
  clusterMethod('v1', 'DeleteCluster'),
  clusterMethod('v1beta1', 'DeleteCluster'),
  serviceMethod('create'),
  serviceMethod('update'),
  serviceMethod('patch'),
  serviceMethod('delete'),
]);

export function findAuditMethod(serviceName: unknown, methodName: unknown): AuditMethod | undefined {
  return AUDIT_METHODS.find((m) => m.serviceName === serviceName && m.methodName === methodName);
}

export function methodNames(serviceName: AuditServiceName): string[] {
  return AUDIT_METHODS.filter((m) => m.serviceName === serviceName).map((m) => m.methodName);
}

export interface SinkFilterOptions {
  /**
   * Principals whose Service writes never need to reach the function (the automation's own identity). The
   * router still hands the principal to the handler, which filters again: the sink filter only saves work.
   */
  excludePrincipals?: string[];
}

/** Cloud Logging caps a query at 20,000 characters. */
export const MAX_FILTER_LENGTH = 20_000;

/**
 * The Cloud Logging query for the audit sink. Only the `last` entry of a cluster operation is wanted: the
 * `first` one is written while the cluster is still provisioning.
 */
export function sinkFilter(options: SinkFilterOptions = {}): string {
  const container = [
    `protoPayload.serviceName=${quote(CONTAINER_SERVICE)}`,
    `protoPayload.methodName=${anyOf(methodNames(CONTAINER_SERVICE))}`,
    'operation.last=true',
  ];
  const k8s = [
    `protoPayload.serviceName=${quote(K8S_SERVICE)}`,
    `resource.type=${quote('k8s_cluster')}`,
    `protoPayload.methodName=${anyOf(methodNames(K8S_SERVICE))}`,
  ];
  const excluded = [...new Set(options.excludePrincipals ?? [])];
  if (excluded.length > 0) {
    k8s.push(`NOT protoPayload.authenticationInfo.principalEmail=${anyOf(excluded)}`);
  }
  const filter =
    `logName:${quote('cloudaudit.googleapis.com%2Factivity')} AND ` +
    `((${container.join(' AND ')}) OR (${k8s.join(' AND ')}))`;
  if (filter.length > MAX_FILTER_LENGTH) {
    throw new RangeError(
      `sink filter is ${filter.length} characters, Cloud Logging accepts ${MAX_FILTER_LENGTH}`,
    );
  }
  return filter;
}

/** `("a" OR "b")` — the Logging query language's "equals any of". */
function anyOf(values: string[]): string {
  return `(${values.map(quote).join(' OR ')})`;
}

/** A Logging query string literal. Principals come from config: refuse what cannot be a principal. */
function quote(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (value.length === 0 || /[\u0000-\u001f\u007f"\\]/.test(value)) {
    throw new RangeError(`not usable in a Logging query: ${JSON.stringify(value)}`);
  }
  return `"${value}"`;
}
