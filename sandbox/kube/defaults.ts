/**
 * Defaulting the API server applies on every write, for the kinds where clients read the defaults back
 * (a Service's clusterIP and port protocol, a Namespace's phase and name label).
 */
import type { ResourceType } from './resources';
import type { KubeObject } from './store';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

export function applyDefaults(
  type: ResourceType,
  object: KubeObject,
  previous: KubeObject | undefined,
  allocateClusterIP: () => string,
): void {
  if (type.resource === 'namespaces') defaultNamespace(object);
  else if (type.resource === 'services') defaultService(object, previous, allocateClusterIP);
  else if (type.resource === 'deployments') {
    const spec = record(object.spec);
    spec.replicas ??= 1;
    object.spec = spec;
  }
}

function defaultNamespace(object: KubeObject): void {
  const name = object.metadata.name ?? '';
  // Since 1.21 the API server sets this label on every namespace and does not let it change.
  object.metadata.labels = { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  const spec = record(object.spec);
  spec.finalizers ??= ['kubernetes'];
  object.spec = spec;
  const status = record(object.status);
  status.phase ??= 'Active';
  object.status = status;
}

function defaultService(
  object: KubeObject,
  previous: KubeObject | undefined,
  allocateClusterIP: () => string,
): void {
  const spec = record(object.spec);
  const before = record(previous?.spec);
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    // The cluster IP is immutable: an update that omits it keeps the allocated one.
    spec.clusterIP ??= before.clusterIP ?? allocateClusterIP();
    spec.clusterIPs ??= before.clusterIPs ?? [spec.clusterIP];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((p) => {
      const port = { ...record(p) };
      port.protocol ??= 'TCP';
      port.targetPort ??= port.port;
      return port;
    });
  }
  object.spec = spec;
  object.status ??= { loadBalancer: {} };
}
