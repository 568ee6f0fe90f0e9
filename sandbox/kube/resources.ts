/**
 * The resource types the Kubernetes stand-in serves, described the way discovery publishes them. Everything
 * else (routing, validation, patch strategy, status handling) reads its per-kind behaviour from this table.
 */

export type NameRule = 'dns1035-label' | 'dns1123-label' | 'dns1123-subdomain';

export interface ResourceType {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  /** Plural resource name used in paths, e.g. `services`. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  nameRule: NameRule;
  /** metadata.generation is set to 1 on create and bumped when anything outside metadata/status changes. */
  generation: boolean;
  /** Has a `/status` subresource: writes to the main resource keep the stored status. */
  statusSubresource: boolean;
  /**
   * Served from a CustomResourceDefinition: no strategic merge patch (415, as the real server answers) and
   * updates must carry metadata.resourceVersion.
   */
  custom: boolean;
  /** Field selector paths accepted besides metadata.name and metadata.namespace. */
  fieldSelectors: string[];
  /** Strategic-merge keys of lists, by dotted path without indices (e.g. `spec.ports` merges by `port`). */
  mergeKeys: Record<string, string>;
}

const READ_WRITE = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const WITH_COLLECTION = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const METADATA_KEYS = { 'metadata.ownerReferences': 'uid' };

export const RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: READ_WRITE,
    nameRule: 'dns1123-label',
    generation: false,
    statusSubresource: true,
    custom: false,
    fieldSelectors: ['status.phase'],
    mergeKeys: { ...METADATA_KEYS, 'status.conditions': 'type' },
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    // Services have no deletecollection in the real API either.
    verbs: READ_WRITE,
    nameRule: 'dns1035-label',
    generation: false,
    statusSubresource: true,
    custom: false,
    fieldSelectors: ['spec.type', 'spec.clusterIP'],
    mergeKeys: { ...METADATA_KEYS, 'spec.ports': 'port', 'status.conditions': 'type' },
  },
  {
    group: '',
    version: 'v1',
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    verbs: WITH_COLLECTION,
    nameRule: 'dns1123-subdomain',
    generation: false,
    statusSubresource: false,
    custom: false,
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'type',
    ],
    mergeKeys: { ...METADATA_KEYS },
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    resource: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    verbs: WITH_COLLECTION,
    nameRule: 'dns1123-subdomain',
    generation: true,
    statusSubresource: false,
    custom: false,
    fieldSelectors: ['addressType'],
    mergeKeys: { ...METADATA_KEYS },
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    verbs: WITH_COLLECTION,
    nameRule: 'dns1123-subdomain',
    generation: true,
    statusSubresource: true,
    custom: false,
    fieldSelectors: [],
    mergeKeys: {
      ...METADATA_KEYS,
      'spec.template.spec.containers': 'name',
      'spec.template.spec.initContainers': 'name',
      'spec.template.spec.containers.ports': 'containerPort',
      'spec.template.spec.containers.env': 'name',
      'spec.template.spec.containers.volumeMounts': 'mountPath',
      'spec.template.spec.volumes': 'name',
      'status.conditions': 'type',
    },
  },
  {
    group: 'net.gke.io',
    version: 'v1',
    resource: 'serviceexports',
    singular: 'serviceexport',
    kind: 'ServiceExport',
    namespaced: true,
    shortNames: [],
    verbs: WITH_COLLECTION,
    nameRule: 'dns1123-subdomain',
    generation: true,
    statusSubresource: true,
    custom: true,
    fieldSelectors: [],
    mergeKeys: {},
  },
  {
    group: 'net.gke.io',
    version: 'v1',
    resource: 'serviceimports',
    singular: 'serviceimport',
    kind: 'ServiceImport',
    namespaced: true,
    shortNames: [],
    verbs: WITH_COLLECTION,
    nameRule: 'dns1123-subdomain',
    generation: true,
    statusSubresource: true,
    custom: true,
    fieldSelectors: [],
    mergeKeys: {},
  },
];

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** `services` for the core group, `serviceexports.net.gke.io` otherwise — how the API server names a resource in messages. */
export function qualifiedResource(type: ResourceType): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

/** The resource served at `/api/v1/...` or `/apis/<group>/<version>/...`. */
export function resourceAt(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** Looks a type up by plural, singular, short name or Kind (case-insensitive), e.g. `svc`, `Service`, `serviceexports`. */
export function resourceNamed(name: string): ResourceType | undefined {
  const wanted = name.toLowerCase();
  return RESOURCES.find(
    (r) =>
      r.resource === wanted ||
      r.singular === wanted ||
      r.kind.toLowerCase() === wanted ||
      r.shortNames.includes(wanted) ||
      qualifiedResource(r) === wanted,
  );
}

/** The type of an object by its apiVersion and kind. */
export function resourceOfObject(apiVersion: unknown, kind: unknown): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
