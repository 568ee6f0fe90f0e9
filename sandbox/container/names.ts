/**
 * GKE resource names: the v1 `name`/`parent` forms and the deprecated projectId/zone/clusterId fields, and
 * the validation GKE applies to them.
 */
import type { ClusterRef } from '../../shared/events/types';
import { invalidArgument } from './status';

const ZONE = /^[a-z]+-[a-z]+\d+-[a-z]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;
const PROJECT = /^(?:[a-z][-a-z0-9]{4,28}[a-z0-9]|\d+)$/;
const CLUSTER = /^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$/;

export const isZone = (location: string) => ZONE.test(location);

/** `us-east4-a` → `us-east4`; a region is its own region. */
export const regionOf = (location: string) => (isZone(location) ? location.replace(/-[a-z]$/, '') : location);

/** GKE names zonal resources with `zones/`, regional ones with `locations/` (selfLink, targetLink). */
export const locationPath = (project: string, location: string) =>
  `projects/${project}/${isZone(location) ? 'zones' : 'locations'}/${location}`;

export const clusterName = (ref: ClusterRef) =>
  `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

export const clusterKey = (ref: ClusterRef) => `${ref.project}/${ref.location}/${ref.name}`;

/** Where a List call looks: one location, or every location when it is `-`. */
export interface Scope {
  project: string;
  location: string;
}

/** The deprecated fields every v1 request still carries next to `name`/`parent`. */
export interface LegacyFields {
  projectId?: string;
  zone?: string;
  clusterId?: string;
  operationId?: string;
}

export function validateProject(project: string): void {
  if (!PROJECT.test(project)) throw invalidArgument(`Invalid project ID "${project}".`);
}

export function validateLocation(location: string, allowAll = false): void {
  if (allowAll && location === '-') return;
  if (!ZONE.test(location) && !REGION.test(location)) {
    throw invalidArgument(`Location "${location}" does not exist.`);
  }
}

export function validateClusterName(name: string): void {
  if (!CLUSTER.test(name)) {
    throw invalidArgument(
      `Invalid value for field "cluster.name": "${name}". Must be a match of regex ` +
        `'(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' (only alphanumerics and '-' allowed, must start with a ` +
        `letter and end with an alphanumeric, and must be no longer than 40 characters).`,
    );
  }
}

function field(value: string | undefined, what: string): string {
  if (!value) throw invalidArgument(`${what} must be specified.`);
  return value;
}

/** `projects/P/locations/L[/…]` (or `zones/`) split into parts; undefined when it does not have that shape. */
function split(name: string, kind?: 'clusters' | 'operations'): string[] | undefined {
  const tail = kind ? `/${kind}/([^/]+)` : '';
  const match = new RegExp(`^projects/([^/]+)/(?:locations|zones)/([^/]+)${tail}$`).exec(name);
  return match?.slice(1);
}

export function parseScope(parent: string | undefined, legacy: LegacyFields): Scope {
  let scope: Scope;
  if (parent) {
    const parts = split(parent);
    if (!parts) throw invalidArgument(`Invalid parent "${parent}": want projects/*/locations/*.`);
    scope = { project: parts[0], location: parts[1] };
  } else {
    scope = { project: field(legacy.projectId, 'Project ID'), location: field(legacy.zone, 'Zone') };
  }
  validateProject(scope.project);
  validateLocation(scope.location, true);
  return scope;
}

export function parseClusterName(name: string | undefined, legacy: LegacyFields): ClusterRef {
  let ref: ClusterRef;
  if (name) {
    const parts = split(name, 'clusters');
    if (!parts) throw invalidArgument(`Invalid name "${name}": want projects/*/locations/*/clusters/*.`);
    ref = { project: parts[0], location: parts[1], name: parts[2] };
  } else {
    ref = {
      project: field(legacy.projectId, 'Project ID'),
      location: field(legacy.zone, 'Zone'),
      name: field(legacy.clusterId, 'Cluster ID'),
    };
  }
  validateProject(ref.project);
  validateLocation(ref.location);
  return ref;
}

/** `projects/P/locations/L/clusters/C/nodePools/NP` (or the deprecated fields) → the cluster and the pool. */
export function parseNodePoolName(
  name: string | undefined,
  legacy: LegacyFields & { nodePoolId?: string },
): { ref: ClusterRef; pool: string } {
  if (name) {
    const match = /^(.+)\/nodePools\/([^/]+)$/.exec(name);
    if (!match) {
      throw invalidArgument(`Invalid name "${name}": want projects/*/locations/*/clusters/*/nodePools/*.`);
    }
    return { ref: parseClusterName(match[1], legacy), pool: match[2] };
  }
  return { ref: parseClusterName(undefined, legacy), pool: field(legacy.nodePoolId, 'Node pool ID') };
}

export function parseOperationName(
  name: string | undefined,
  legacy: LegacyFields,
): Scope & { operation: string } {
  if (name) {
    const parts = split(name, 'operations');
    if (!parts) throw invalidArgument(`Invalid name "${name}": want projects/*/locations/*/operations/*.`);
    return { project: parts[0], location: parts[1], operation: parts[2] };
  }
  return {
    project: field(legacy.projectId, 'Project ID'),
    location: field(legacy.zone, 'Zone'),
    operation: field(legacy.operationId, 'Operation ID'),
  };
}
