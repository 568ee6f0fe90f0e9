/**
 * Names Spokefleet derives: resource links, issuers, membership ids, and the labels that mark what it manages.
 * Pure functions, so the same cluster always maps to the same names, on every delivery of every event.
 */
import { createHash } from 'node:crypto';
import type { ClusterRef } from '../events/types';

/** Kubernetes label on namespaces and ServiceExports that Spokefleet created. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'spokefleet';
/** Which deployment created a managed object (config `owner`): a deployment deletes only its own. */
export const OWNER_LABEL = 'spokefleet.io/owner';
/** GCP resource labels allow no `/` or `.`: memberships and features carry this one instead. */
export const MEMBERSHIP_MANAGED_LABEL = 'managed-by';
/** The owner (config `owner`) of a membership Spokefleet created, as a GCP label. */
export const MEMBERSHIP_OWNER_LABEL = 'spokefleet-owner';

export const MCS_FEATURE = 'multiclusterservicediscovery';

export function refString(ref: ClusterRef): string {
  return `${ref.project}/${ref.location}/${ref.name}`;
}

/** The membership's `endpoint.gkeCluster.resourceLink` for a cluster (always `locations/`). */
export function clusterResourceLink(ref: ClusterRef): string {
  return `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}

/** The OIDC issuer Hub expects in `authority.issuer` (must use `locations/`, never `zones/`). */
export function clusterIssuer(ref: ClusterRef): string {
  return `https://container.googleapis.com/v1/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}

/** Resource links compare equal whether they name the location with `zones/` or `locations/`. */
export function sameResourceLink(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const norm = (s: string) =>
    s
      .replace('/zones/', '/locations/')
      .replace(/^https?:\/\/container\.googleapis\.com\/v1/, '//container.googleapis.com');
  return norm(a) === norm(b);
}

/** `us-east4-a` → `us-east4`; a region is returned unchanged. */
export function regionOf(location: string): string {
  return /^[a-z]+-[a-z]+\d+-[a-z]$/.test(location) ? location.slice(0, -2) : location;
}

/** Lower-cases, replaces invalid characters and trims to a DNS-1123 label of at most `max` characters. */
export function toDnsLabel(raw: string, max = 63): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return cleaned || 'cluster';
}

/** The preferred membership id: the template filled in, made a DNS-1123 label. */
export function preferredMembershipId(template: string, ref: ClusterRef): string {
  const filled = template
    .replaceAll('{cluster}', ref.name)
    .replaceAll('{project}', ref.project)
    .replaceAll('{location}', ref.location);
  return toDnsLabel(filled);
}

/**
 * The deterministic fallback when the preferred id belongs to another cluster: the id shortened and suffixed with
 * a hash of the cluster's resource link, so every delivery of every event picks the same one.
 */
export function fallbackMembershipId(preferred: string, ref: ClusterRef): string {
  const hash = createHash('sha256').update(clusterResourceLink(ref)).digest('hex').slice(0, 8);
  return `${toDnsLabel(preferred, 63 - 9)}-${hash}`;
}

/** `//container.googleapis.com/projects/P/locations|zones/L/clusters/C` → the cluster it names. */
export function refFromResourceLink(link: string | undefined): ClusterRef | undefined {
  const match =
    /^(?:https?:)?\/\/container\.googleapis\.com\/(?:v1\/)?projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/.exec(
      link ?? '',
    );
  return match ? { project: match[1], location: match[2], name: match[3] } : undefined;
}
