/**
 * Legacy (unaggregated) API discovery and /version. kubectl asks for aggregated discovery first and falls
 * back to these documents when the answer is plain `application/json`; it resolves `ns`, `svc` and friends
 * from the shortNames published here.
 */
import { RESOURCES, type ResourceType } from './resources';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-gke.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Whether a group's resources are installed in this cluster (CRDs can arrive later). */
export type GroupServed = (group: string) => boolean;

function groups(served: GroupServed): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group || !served(r.group)) continue;
    const versions = byGroup.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    byGroup.set(r.group, versions);
  }
  return byGroup;
}

function apiGroup(name: string, versions: string[]) {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** The answer for a discovery path, or undefined when the path is not a discovery document. */
export function discoveryDocument(
  path: string,
  serverAddress: string,
  served: GroupServed = () => true,
): unknown {
  if (path === '/version') return VERSION_INFO;
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups(served)].map(([name, versions]) => apiGroup(name, versions)),
    };
  }
  if (path === '/api/v1') return resourceList('', 'v1');
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group) {
    const versions = groups(served).get(group[1]);
    return versions && { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group[1], versions) };
  }
  const groupVersion = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (groupVersion)
    return served(groupVersion[1]) ? resourceList(groupVersion[1], groupVersion[2]) : undefined;
  return undefined;
}

function resourceList(group: string, version: string) {
  const types = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap((r) => [resourceEntry(r), ...(r.statusSubresource ? [statusEntry(r)] : [])]),
  };
}

function resourceEntry(r: ResourceType) {
  const entry: Record<string, unknown> = {
    name: r.resource,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
  };
  if (r.shortNames.length) entry.shortNames = r.shortNames;
  if (['services', 'deployments'].includes(r.resource)) entry.categories = ['all'];
  return entry;
}

function statusEntry(r: ResourceType) {
  return {
    name: `${r.resource}/status`,
    singularName: '',
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: ['get', 'patch', 'update'],
  };
}
