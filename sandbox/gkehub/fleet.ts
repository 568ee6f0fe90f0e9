/**
 * Fleet memberships and features as GKE Hub v1 keeps them, with Hub's validation: membership ids are DNS-1123
 * labels, a GKE membership's `authority.issuer` is the cluster's `locations/` issuer URL, one membership per
 * cluster, 409 ALREADY_EXISTS on a taken id or cluster, 404 for the unknown and 403 for an unknown project.
 *
 * Names use the project id (a project number in a request path is accepted and resolved to the id).
 */
import { randomUUID } from 'node:crypto';
import type { ClusterRef } from '../../shared/events/types';
import {
  alreadyExists,
  badRequest,
  GoogleApiError,
  notFound,
  permissionDenied,
  timestamp,
} from '../google-rest';
import { parseFilter } from './filter';
import { type HubOperation, HubOperations } from './operations';
import type { ProjectDirectory } from './projects';

export const MEMBERSHIP_TYPE = 'type.googleapis.com/google.cloud.gkehub.v1.Membership';
export const FEATURE_TYPE = 'type.googleapis.com/google.cloud.gkehub.v1.Feature';
const EMPTY_TYPE = 'type.googleapis.com/google.protobuf.Empty';

export interface Membership {
  name: string;
  labels?: Record<string, string>;
  description?: string;
  endpoint?: { gkeCluster?: { resourceLink: string }; googleManaged?: boolean };
  state: { code: 'CREATING' | 'READY' | 'DELETING' | 'UPDATING' };
  authority?: { issuer: string; workloadIdentityPool: string; identityProvider: string };
  createTime: string;
  updateTime: string;
  uniqueId: string;
  monitoringConfig?: {
    projectId: string;
    location: string;
    cluster: string;
    kubernetesMetricsPrefix: string;
  };
}

export interface Feature {
  name: string;
  labels?: Record<string, string>;
  resourceState: { state: 'ENABLING' | 'ACTIVE' };
  spec?: Record<string, unknown>;
  state?: { state: { code: string; description: string; updateTime: string } };
  membershipStates?: Record<string, { state: { code: string; description: string; updateTime: string } }>;
  createTime: string;
  updateTime: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RESOURCE_LINK =
  /^\/\/container\.googleapis\.com\/projects\/([^/]+)\/(locations|zones)\/([^/]+)\/clusters\/([^/]+)$/;
const ISSUER =
  /^https:\/\/container\.googleapis\.com\/v1\/projects\/([^/]+)\/(locations|zones)\/([^/]+)\/clusters\/([^/]+)$/;
// GCP resource labels (not Kubernetes labels): no dots or slashes, lowercase, at most 63 characters.
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MEMBERSHIP_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/memberships\/([^/]+)$/;

export const resourceLinkOf = (c: ClusterRef) =>
  `//container.googleapis.com/projects/${c.project}/locations/${c.location}/clusters/${c.name}`;
export const issuerOf = (c: ClusterRef) =>
  `https://container.googleapis.com/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}`;

/** The cluster a resourceLink names; `zones/` and `locations/` forms name the same cluster. */
function clusterOfLink(link: string): ClusterRef | undefined {
  const m = RESOURCE_LINK.exec(link);
  return m ? { project: m[1], location: m[3], name: m[4] } : undefined;
}

function validateLabels(labels: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(k) || typeof v !== 'string' || !LABEL_VALUE.test(v)) {
      throw badRequest(
        `Invalid label "${k}": "${v}": keys start with a lowercase letter; keys and values use at most 63 lowercase letters, digits, '_' and '-'`,
        'invalid',
      );
    }
  }
}

const sameCluster = (a: ClusterRef, b: ClusterRef) =>
  a.project === b.project && a.location === b.location && a.name === b.name;

interface MembershipInput {
  labels?: Record<string, string>;
  description?: string;
  endpoint?: { gkeCluster?: { resourceLink?: string } };
  authority?: { issuer?: string };
}

/**
 * GKE fleet-management quotas page: at most 250 clusters with global memberships and 50 with regional ones per
 * fleet (default allocation quotas).
 */
export const FLEET_MEMBERSHIP_QUOTA = { global: 250, regional: 50 } as const;

export class FleetStore {
  readonly operations: HubOperations;
  private readonly memberships = new Map<string, Membership>();
  private readonly features = new Map<string, Feature>();
  /** Called whenever memberships or features change (after their operation completes). */
  onChange: () => void = () => {};

  constructor(
    readonly projects: ProjectDirectory,
    opDelayMs: number | ((verb: string, target: string) => number) = 30,
    readonly quota: { global: number; regional: number } = FLEET_MEMBERSHIP_QUOTA,
  ) {
    this.operations = new HubOperations(opDelayMs, () => this.onChange());
  }

  /** Memberships of a fleet in `global`, or in any region. */
  private countMemberships(projectId: string, global: boolean): number {
    return [...this.memberships.keys()].filter(
      (name) => name.startsWith(`projects/${projectId}/`) && name.includes('/locations/global/') === global,
    ).length;
  }

  // ---- store API for the sandbox (no faults, no counters) ----

  /** A membership GKE made itself (cluster created with a fleet project): READY at once, no labels. */
  registerMembership(fleetProject: string, location: string, id: string, cluster: ClusterRef): Membership {
    const name = `projects/${this.projectId(fleetProject)}/locations/${location}/memberships/${id}`;
    if (this.memberships.has(name)) throw new Error(`membership ${name} exists`);
    const now = timestamp();
    const membership: Membership = {
      name,
      endpoint: { gkeCluster: { resourceLink: resourceLinkOf(cluster) }, googleManaged: true },
      state: { code: 'READY' },
      authority: this.authority(fleetProject, issuerOf(cluster)),
      createTime: now,
      updateTime: now,
      uniqueId: randomUUID(),
      monitoringConfig: monitoringOf(cluster),
    };
    this.memberships.set(name, membership);
    this.onChange();
    return structuredClone(membership);
  }

  /** Removes a membership by name (project id or number); false when there was none. */
  deleteMembership(name: string): boolean {
    const key = this.canonicalName(name);
    const deleted = key !== undefined && this.memberships.delete(key);
    if (deleted) this.onChange();
    return deleted;
  }

  /** Removes a feature by its full name (tests start a story from a fleet without it); false when there was none. */
  deleteFeature(name: string): boolean {
    const deleted = this.features.delete(name);
    if (deleted) this.onChange();
    return deleted;
  }

  getMembership(name: string): Membership | undefined {
    const key = this.canonicalName(name);
    const membership = key && this.memberships.get(key);
    return membership ? structuredClone(membership) : undefined;
  }

  /** Everything, for /state. */
  list(): { memberships: Membership[]; features: Feature[] } {
    return {
      memberships: [...this.memberships.values()].map((m) => structuredClone(m)),
      features: [...this.features.values()].map((f) => this.withMembershipStates(f)),
    };
  }

  close(): void {
    this.operations.close();
  }

  // ---- REST: memberships ----

  createMembership(project: string, location: string, id: string | null, body: unknown): HubOperation {
    const projectId = this.resolve(
      project,
      'gkehub.memberships.create',
      `locations/${location}/memberships/${id}`,
    );
    if (location === '-') throw badRequest('Location "-" is not allowed for create', 'invalid');
    if (!id) throw badRequest('membershipId is required', 'required');
    if (!DNS_LABEL.test(id)) {
      throw badRequest(
        `Invalid membership ID "${id}": must be at most 63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)`,
        'invalid',
      );
    }
    const name = `projects/${projectId}/locations/${location}/memberships/${id}`;
    if (this.memberships.has(name)) throw alreadyExists(`Membership "${name}" already exists`);
    const input = (body ?? {}) as MembershipInput;
    validateLabels(input.labels);
    const cluster = this.validateEndpoint(input);
    if (cluster) {
      const taken = this.membershipOfCluster(cluster);
      if (taken) {
        throw alreadyExists(
          `A membership for cluster "${input.endpoint?.gkeCluster?.resourceLink}" already exists: "${taken.name}"`,
        );
      }
    }
    const issuer = this.validateIssuer(input.authority?.issuer, cluster);
    const global = location === 'global';
    const limit = global ? this.quota.global : this.quota.regional;
    if (this.countMemberships(projectId, global) >= limit) {
      // An allocation quota: Google APIs answer 429 RESOURCE_EXHAUSTED (the exact message is not published).
      throw new GoogleApiError(
        429,
        'RESOURCE_EXHAUSTED',
        `Quota exceeded: the fleet of project ${projectId} already has ${limit} ${global ? 'global' : 'regional'} memberships, the maximum number of clusters with ${global ? 'global' : 'regional'} memberships per fleet.`,
        'rateLimitExceeded',
      );
    }
    const now = timestamp();
    const membership: Membership = {
      name,
      ...(input.labels && Object.keys(input.labels).length ? { labels: { ...input.labels } } : {}),
      ...(input.description ? { description: input.description } : {}),
      ...(cluster
        ? { endpoint: { gkeCluster: { resourceLink: input.endpoint?.gkeCluster?.resourceLink as string } } }
        : {}),
      state: { code: 'CREATING' },
      ...(issuer ? { authority: this.authority(projectId, issuer) } : {}),
      createTime: now,
      updateTime: now,
      uniqueId: randomUUID(),
      ...(cluster ? { monitoringConfig: monitoringOf(cluster) } : {}),
    };
    this.memberships.set(name, membership);
    return this.operations.start(`projects/${projectId}/locations/${location}`, name, 'create', () => {
      membership.state = { code: 'READY' };
      membership.updateTime = timestamp();
      return { '@type': MEMBERSHIP_TYPE, ...structuredClone(membership) };
    });
  }

  getMembershipRest(project: string, location: string, id: string): Membership {
    return structuredClone(this.existingMembership(project, location, id, 'gkehub.memberships.get'));
  }

  listMemberships(project: string, location: string, query: URLSearchParams): Record<string, unknown> {
    const projectId = this.resolve(project, 'gkehub.memberships.list', `locations/${location}`);
    const matches = parseFilter(query.get('filter'));
    const prefix =
      location === '-' ? `projects/${projectId}/locations/` : `projects/${projectId}/locations/${location}/`;
    const all = [...this.memberships.values()]
      .filter((m) => m.name.startsWith(prefix) && matches(m))
      .sort((a, b) => a.name.localeCompare(b.name));
    return page(all, query);
  }

  deleteMembershipRest(project: string, location: string, id: string): HubOperation {
    const membership = this.existingMembership(project, location, id, 'gkehub.memberships.delete');
    if (membership.state.code === 'DELETING') {
      throw new GoogleApiError(409, 'ABORTED', `Membership "${membership.name}" is being deleted`, 'aborted');
    }
    membership.state = { code: 'DELETING' };
    membership.updateTime = timestamp();
    const parent = membership.name.slice(0, membership.name.indexOf('/memberships/'));
    return this.operations.start(parent, membership.name, 'delete', () => {
      this.memberships.delete(membership.name);
      return { '@type': EMPTY_TYPE };
    });
  }

  /** PATCH with an `updateMask` of `labels`, `description` and/or `authority`; other fields are refused. */
  patchMembership(
    project: string,
    location: string,
    id: string,
    mask: string | null,
    body: unknown,
  ): HubOperation {
    const membership = this.existingMembership(project, location, id, 'gkehub.memberships.update');
    const fields = (mask ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    if (fields.length === 0) throw badRequest('update_mask is required', 'required');
    const input = (body ?? {}) as MembershipInput;
    const changes: Partial<Membership> = {};
    for (const field of fields) {
      if (field === 'labels') {
        validateLabels(input.labels);
        changes.labels = { ...(input.labels ?? {}) };
      } else if (field === 'description') changes.description = input.description ?? '';
      else if (field === 'authority') {
        const link = membership.endpoint?.gkeCluster?.resourceLink;
        const issuer = this.validateIssuer(input.authority?.issuer, link ? clusterOfLink(link) : undefined);
        changes.authority = issuer ? this.authority(project, issuer) : undefined;
      } else {
        throw badRequest(`Field "${field}" of update_mask is not supported`, 'invalid');
      }
    }
    membership.state = { code: 'UPDATING' };
    const parent = membership.name.slice(0, membership.name.indexOf('/memberships/'));
    return this.operations.start(parent, membership.name, 'update', () => {
      Object.assign(membership, changes);
      if (membership.labels && Object.keys(membership.labels).length === 0) delete membership.labels;
      if (!membership.description) delete membership.description;
      if (!membership.authority) delete membership.authority;
      membership.state = { code: 'READY' };
      membership.updateTime = timestamp();
      return { '@type': MEMBERSHIP_TYPE, ...structuredClone(membership) };
    });
  }

  // ---- REST: features ----

  createFeature(project: string, location: string, id: string | null, body: unknown): HubOperation {
    const projectId = this.resolve(project, 'gkehub.features.create', `locations/${location}/features/${id}`);
    if (!id) throw badRequest('featureId is required', 'required');
    const name = `projects/${projectId}/locations/${location}/features/${id}`;
    if (this.features.has(name)) throw alreadyExists(`Feature "${name}" already exists`);
    const input = (body ?? {}) as { labels?: Record<string, string>; spec?: Record<string, unknown> };
    validateLabels(input.labels);
    const now = timestamp();
    const feature: Feature = {
      name,
      ...(input.labels && Object.keys(input.labels).length ? { labels: { ...input.labels } } : {}),
      resourceState: { state: 'ENABLING' },
      ...(input.spec && Object.keys(input.spec).length ? { spec: structuredClone(input.spec) } : {}),
      createTime: now,
      updateTime: now,
    };
    this.features.set(name, feature);
    return this.operations.start(`projects/${projectId}/locations/${location}`, name, 'create', () => {
      const done = timestamp();
      feature.resourceState = { state: 'ACTIVE' };
      feature.state = { state: { code: 'OK', description: 'Ready to use', updateTime: done } };
      feature.updateTime = done;
      return { '@type': FEATURE_TYPE, ...this.withMembershipStates(feature) };
    });
  }

  getFeature(project: string, location: string, id: string): Feature {
    const projectId = this.resolve(project, 'gkehub.features.get', `locations/${location}/features/${id}`);
    const name = `projects/${projectId}/locations/${location}/features/${id}`;
    const feature = this.features.get(name);
    if (!feature) throw notFound(`Resource '${name}' was not found`);
    return this.withMembershipStates(feature);
  }

  listFeatures(project: string, location: string, query: URLSearchParams): Record<string, unknown> {
    const projectId = this.resolve(project, 'gkehub.features.list', `locations/${location}`);
    const prefix =
      location === '-' ? `projects/${projectId}/locations/` : `projects/${projectId}/locations/${location}/`;
    const all = [...this.features.values()]
      .filter((f) => f.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((f) => this.withMembershipStates(f));
    return page(all, query);
  }

  // ---- REST: operations ----

  getOperation(project: string, location: string, id: string): HubOperation {
    const projectId = this.resolve(
      project,
      'gkehub.operations.get',
      `locations/${location}/operations/${id}`,
    );
    const name = `projects/${projectId}/locations/${location}/operations/${id}`;
    const op = this.operations.get(name);
    if (!op) throw notFound(`Operation '${name}' was not found`);
    return op;
  }

  // ---- internals ----

  /** The project id for a path's project id or number; 403 like Hub when the project is unknown. */
  private resolve(project: string, permission: string, rest: string): string {
    const spec = this.projects.find(project);
    if (!spec) {
      throw permissionDenied(`Permission '${permission}' denied on 'projects/${project}/${rest}'`);
    }
    return spec.id;
  }

  /** A project id for the store API: a known number becomes its id, anything else passes unchanged. */
  private projectId(project: string): string {
    return this.projects.find(project)?.id ?? project;
  }

  private canonicalName(name: string): string | undefined {
    const m = MEMBERSHIP_NAME.exec(name);
    return m ? `projects/${this.projectId(m[1])}/locations/${m[2]}/memberships/${m[3]}` : undefined;
  }

  private existingMembership(project: string, location: string, id: string, permission: string): Membership {
    const projectId = this.resolve(project, permission, `locations/${location}/memberships/${id}`);
    const name = `projects/${projectId}/locations/${location}/memberships/${id}`;
    const membership = this.memberships.get(name);
    if (!membership) throw notFound(`Resource '${name}' was not found`);
    return membership;
  }

  private membershipOfCluster(cluster: ClusterRef): Membership | undefined {
    for (const m of this.memberships.values()) {
      const link = m.endpoint?.gkeCluster?.resourceLink;
      const other = link ? clusterOfLink(link) : undefined;
      if (other && sameCluster(other, cluster)) return m;
    }
    return undefined;
  }

  private validateEndpoint(input: MembershipInput): ClusterRef | undefined {
    const link = input.endpoint?.gkeCluster?.resourceLink;
    if (link === undefined) return undefined;
    const cluster = clusterOfLink(link);
    if (!cluster) {
      throw badRequest(
        `Invalid endpoint.gkeCluster.resourceLink "${link}": expected //container.googleapis.com/projects/P/locations/L/clusters/C`,
        'invalid',
      );
    }
    return cluster;
  }

  /** The issuer must be the cluster's OIDC issuer in its `locations/` form, for the same cluster. */
  private validateIssuer(issuer: string | undefined, cluster: ClusterRef | undefined): string | undefined {
    if (!issuer) return undefined;
    const m = ISSUER.exec(issuer);
    if (m?.[2] !== 'locations') {
      throw badRequest(
        `Invalid authority.issuer "${issuer}": for a GKE cluster it must be https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`,
        'invalid',
      );
    }
    if (cluster && !sameCluster({ project: m[1], location: m[3], name: m[4] }, cluster)) {
      throw badRequest(
        `Invalid authority.issuer "${issuer}": it does not match endpoint.gkeCluster.resourceLink`,
        'invalid',
      );
    }
    return issuer;
  }

  private authority(fleetProject: string, issuer: string): NonNullable<Membership['authority']> {
    return {
      issuer,
      workloadIdentityPool: `${this.projectId(fleetProject)}.svc.id.goog`,
      identityProvider: issuer,
    };
  }

  /**
   * The MCS feature reports one state per READY membership of its project, keyed by the project number as Hub
   * does; other features carry no membership states here.
   */
  private withMembershipStates(feature: Feature): Feature {
    const copy = structuredClone(feature);
    if (
      !feature.name.endsWith('/features/multiclusterservicediscovery') ||
      feature.resourceState.state !== 'ACTIVE'
    ) {
      return copy;
    }
    const projectId = feature.name.split('/')[1];
    const number = this.projects.find(projectId)?.number ?? projectId;
    const states: NonNullable<Feature['membershipStates']> = {};
    for (const m of this.memberships.values()) {
      if (!m.name.startsWith(`projects/${projectId}/`) || m.state.code !== 'READY') continue;
      const key = m.name.replace(`projects/${projectId}/`, `projects/${number}/`);
      states[key] = {
        state: { code: 'OK', description: 'Firewall successfully updated', updateTime: m.updateTime },
      };
    }
    if (Object.keys(states).length) copy.membershipStates = states;
    return copy;
  }
}

function monitoringOf(cluster: ClusterRef): NonNullable<Membership['monitoringConfig']> {
  return {
    projectId: cluster.project,
    location: cluster.location,
    cluster: cluster.name,
    kubernetesMetricsPrefix: 'kubernetes.io',
  };
}

/** `pageSize` / `pageToken` over an already sorted list, answered as `{resources, nextPageToken}`. */
function page<T>(all: T[], query: URLSearchParams): Record<string, unknown> {
  const size = Math.min(Number(query.get('pageSize') ?? 0) || 1000, 1000);
  const start = Number(query.get('pageToken') ?? 0) || 0;
  const items = all.slice(start, start + size);
  return {
    ...(items.length ? { resources: structuredClone(items) } : {}),
    ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
  };
}
