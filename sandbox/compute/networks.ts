/**
 * VPC networks and their peerings, kept the way GCE writes them, plus GCE's rule that a network (and its peer)
 * takes one peering change at a time: while a peering operation runs, another answers 400 "There is a peering
 * operation in progress on the local or peer network. Try again later."
 *
 * Two doors: the REST methods (validate, answer an Operation) used by the server, and a store API for the rest of
 * the sandbox (the GKE stand-in adds and removes the control-plane peering of a private cluster), which waits for
 * the lock instead of failing and then holds it briefly, as GKE's own peering changes do.
 */
import {
  alreadyExists,
  badRequest,
  type GoogleApiError,
  notFound,
  numericId,
  timestamp,
} from '../google-rest';
import { COMPUTE_BASE, type ComputeOperation, GlobalOperations, type OperationError } from './operations';

export const PEERING_IN_PROGRESS_MESSAGE =
  'There is a peering operation in progress on the local or peer network. Try again later.';

export const peeringInProgress = () => badRequest(PEERING_IN_PROGRESS_MESSAGE);

export interface NetworkPeering {
  name: string;
  /** The peer network's selfLink. */
  network: string;
  state: 'ACTIVE' | 'INACTIVE';
  stateDetails: string;
  autoCreateRoutes: boolean;
  exchangeSubnetRoutes: boolean;
  exportCustomRoutes: boolean;
  importCustomRoutes: boolean;
  exportSubnetRoutesWithPublicIp: boolean;
  importSubnetRoutesWithPublicIp: boolean;
  stackType: string;
}

export interface Network {
  kind: 'compute#network';
  id: string;
  creationTimestamp: string;
  name: string;
  description?: string;
  selfLink: string;
  selfLinkWithId: string;
  autoCreateSubnetworks: boolean;
  subnetworks?: string[];
  peerings?: NetworkPeering[];
  routingConfig: { routingMode: string; bgpBestPathSelectionMode: string };
  mtu: number;
  networkFirewallPolicyEnforcementOrder: string;
}

export interface AddNetworkOptions {
  description?: string;
  autoCreateSubnetworks?: boolean;
  /** Subnetwork selfLinks (or `regions/R/subnetworks/S` paths). */
  subnetworks?: string[];
  routingMode?: 'REGIONAL' | 'GLOBAL';
}

export interface AddPeeringOptions {
  name: string;
  /** The peer network: a selfLink, `projects/P/global/networks/N`, or a bare name in the same project. */
  peerNetwork: string;
  exportCustomRoutes?: boolean;
  importCustomRoutes?: boolean;
}

/** Peering flags updatePeering may change; any other field in the request is ignored, as GCE does. */
const UPDATABLE_PEERING_FIELDS = [
  'exportCustomRoutes',
  'importCustomRoutes',
  'exportSubnetRoutesWithPublicIp',
  'importSubnetRoutesWithPublicIp',
  'stackType',
] as const;

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const networkLink = (project: string, name: string) =>
  `${COMPUTE_BASE}/projects/${project}/global/networks/${name}`;
const networkPath = (project: string, name: string) => `projects/${project}/global/networks/${name}`;
const key = (project: string, name: string) => `${project}/${name}`;

/** Reads a peer network reference in any of the forms GCE accepts into project and name. */
export function parseNetworkRef(ref: string, defaultProject: string): { project: string; name: string } {
  const m = /(?:^|\/)projects\/([^/]+)\/global\/networks\/([^/]+)$/.exec(ref);
  if (m) return { project: m[1], name: m[2] };
  const local = /^(?:global\/networks\/)?([^/]+)$/.exec(ref);
  if (local) return { project: defaultProject, name: local[1] };
  throw badRequest(
    `Invalid value for field 'networkPeering.network': '${ref}'. The URL is malformed.`,
    'invalid',
  );
}

function subnetworkLink(project: string, ref: string): string {
  if (ref.startsWith('https://')) return ref;
  if (ref.startsWith('projects/')) return `${COMPUTE_BASE}/${ref}`;
  return `${COMPUTE_BASE}/projects/${project}/${ref}`;
}

export class NetworkStore {
  readonly operations: GlobalOperations;
  private readonly networks = new Map<string, Network>();
  /** Networks with a peering operation running, by key; a count since one change holds both ends. */
  private readonly locks = new Map<string, number>();
  private unlockWaiters: Array<() => void> = [];
  private readonly holdTimers = new Set<NodeJS.Timeout>();

  /** `peeringOpMs`: a fixed time, or drawn per operation (the sandbox's timing profile). */
  constructor(private readonly peeringOpMs: number | (() => number) = 30) {
    this.operations = new GlobalOperations();
  }

  // ---- store API for the sandbox (no faults, no counters) ----

  addNetwork(project: string, name: string, options: AddNetworkOptions = {}): Network {
    if (this.networks.has(key(project, name)))
      throw new Error(`network ${networkPath(project, name)} exists`);
    const network: Network = {
      kind: 'compute#network',
      id: numericId(),
      creationTimestamp: timestamp(),
      name,
      ...(options.description ? { description: options.description } : {}),
      selfLink: networkLink(project, name),
      selfLinkWithId: '',
      autoCreateSubnetworks: options.autoCreateSubnetworks ?? false,
      ...(options.subnetworks?.length
        ? { subnetworks: options.subnetworks.map((s) => subnetworkLink(project, s)) }
        : {}),
      routingConfig: { routingMode: options.routingMode ?? 'REGIONAL', bgpBestPathSelectionMode: 'LEGACY' },
      mtu: 1460,
      networkFirewallPolicyEnforcementOrder: 'AFTER_CLASSIC_FIREWALL',
    };
    network.selfLinkWithId = `${COMPUTE_BASE}/projects/${project}/global/networks/${network.id}`;
    this.networks.set(key(project, name), network);
    return structuredClone(network);
  }

  getNetwork(project: string, name: string): Network | undefined {
    const network = this.networks.get(key(project, name));
    return network && structuredClone(network);
  }

  /** Lists a subnetwork's URL in its network's `subnetworks`, as GCE does when one is created. */
  linkSubnetwork(project: string, name: string, selfLink: string): void {
    const network = this.networks.get(key(project, name));
    if (!network) throw new Error(`network ${networkPath(project, name)} not found`);
    const links = network.subnetworks ?? [];
    if (!links.includes(selfLink)) network.subnetworks = [...links, selfLink];
  }

  /**
   * Adds a peering the way GKE does for a private cluster's control plane: waits while a peering operation runs
   * on either end, applies the peering, then keeps both ends locked for `peeringOpMs`.
   */
  async addPeering(project: string, network: string, options: AddPeeringOptions): Promise<NetworkPeering> {
    const peer = parseNetworkRef(options.peerNetwork, project);
    const keys = [key(project, network), key(peer.project, peer.name)];
    await this.whenUnlocked(keys);
    const target = this.networks.get(keys[0]);
    if (!target) throw new Error(`network ${networkPath(project, network)} not found`);
    if (target.peerings?.some((p) => p.name === options.name)) {
      throw new Error(`peering ${options.name} exists on ${networkPath(project, network)}`);
    }
    const peering = newPeering(options.name, networkLink(peer.project, peer.name), options);
    target.peerings = [...(target.peerings ?? []), peering];
    const ms = this.opMs();
    this.hold(keys, ms);
    return structuredClone(peering);
  }

  /** Removes a peering like GKE does when it deletes a private cluster; no-op when it is already gone. */
  async removePeering(project: string, network: string, name: string): Promise<void> {
    const target = this.networks.get(key(project, network));
    const peering = target?.peerings?.find((p) => p.name === name);
    if (!target || !peering) return;
    const keys = [key(project, network), this.peerKey(peering, project)];
    await this.whenUnlocked(keys);
    target.peerings = (target.peerings ?? []).filter((p) => p.name !== name);
    if (target.peerings.length === 0) delete target.peerings;
    const ms = this.opMs();
    this.hold(keys, ms);
  }

  /** Every network, for /state. */
  list(): Array<Network & { project: string }> {
    return [...this.networks].map(([k, n]) => ({
      project: k.slice(0, k.lastIndexOf('/')),
      ...structuredClone(n),
    }));
  }

  /** How long the next peering operation runs. */
  private opMs(): number {
    return typeof this.peeringOpMs === 'function' ? this.peeringOpMs() : this.peeringOpMs;
  }

  /** Is a peering operation running on this network? */
  peeringLocked(project: string, name: string): boolean {
    return (this.locks.get(key(project, name)) ?? 0) > 0;
  }

  close(): void {
    for (const timer of this.holdTimers) clearTimeout(timer);
    this.holdTimers.clear();
    this.operations.close();
  }

  // ---- REST methods (networks.*) ----

  get(project: string, name: string): Network {
    const network = this.networks.get(key(project, name));
    if (!network) throw missingNetwork(project, name);
    return structuredClone(network);
  }

  listNetworks(project: string, query: URLSearchParams): Record<string, unknown> {
    const matches = nameFilter(query.get('filter'));
    const all = [...this.networks]
      .filter(([k, n]) => k === key(project, n.name) && matches(n.name))
      .map(([, n]) => n)
      .sort((a, b) => a.name.localeCompare(b.name));
    const maxResults = Math.min(Number(query.get('maxResults') ?? 500) || 500, 500);
    const start = Number(query.get('pageToken') ?? 0) || 0;
    const page = all.slice(start, start + maxResults);
    return {
      kind: 'compute#networkList',
      id: `projects/${project}/global/networks`,
      ...(page.length ? { items: structuredClone(page) } : {}),
      selfLink: `${COMPUTE_BASE}/projects/${project}/global/networks`,
      ...(start + maxResults < all.length ? { nextPageToken: String(start + maxResults) } : {}),
    };
  }

  insert(project: string, body: unknown): ComputeOperation {
    const resource = (body ?? {}) as Partial<Network> & { routingConfig?: { routingMode?: string } };
    const name = resource.name ?? '';
    if (!NAME.test(name)) {
      throw badRequest(
        `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
        'invalid',
      );
    }
    if (this.networks.has(key(project, name))) {
      throw alreadyExists(`The resource '${networkPath(project, name)}' already exists`);
    }
    const network = this.addNetwork(project, name, {
      description: resource.description,
      autoCreateSubnetworks: resource.autoCreateSubnetworks,
      routingMode: resource.routingConfig?.routingMode === 'GLOBAL' ? 'GLOBAL' : 'REGIONAL',
    });
    return this.operations.start(
      project,
      'insert',
      { link: network.selfLink, id: network.id },
      0,
      () => undefined,
    );
  }

  delete(project: string, name: string): ComputeOperation {
    const network = this.get(project, name);
    if (this.peeringLocked(project, name)) {
      throw badRequest(`The resource '${networkPath(project, name)}' is not ready`, 'resourceNotReady');
    }
    return this.operations.start(project, 'delete', { link: network.selfLink, id: network.id }, 0, () => {
      const current = this.networks.get(key(project, name));
      if (current?.peerings?.length) {
        return {
          code: 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE',
          message: `The network resource '${networkPath(project, name)}' is already being used by '${networkPath(project, name)}/peerings/${current.peerings[0].name}'`,
        };
      }
      this.networks.delete(key(project, name));
      return undefined;
    });
  }

  addPeeringOp(project: string, name: string, body: unknown): ComputeOperation {
    const request = (body ?? {}) as {
      name?: string;
      peerNetwork?: string;
      autoCreateRoutes?: boolean;
      networkPeering?: Partial<NetworkPeering>;
    };
    const network = this.get(project, name);
    // Two request forms: the current `networkPeering` one, and the legacy `name` + `peerNetwork`.
    const spec = request.networkPeering ?? {};
    const peeringName = spec.name ?? request.name;
    const peerRef = spec.network ?? request.peerNetwork;
    if (!peeringName || !peerRef) {
      throw badRequest(
        "Required field 'networkPeering.name' or 'networkPeering.network' not specified",
        'required',
      );
    }
    const peer = parseNetworkRef(peerRef, project);
    const keys = [key(project, name), key(peer.project, peer.name)];
    this.refuseIfLocked(keys);
    if (network.peerings?.some((p) => p.name === peeringName)) {
      throw alreadyExists(
        `The resource '${networkPath(project, name)}/peerings/${peeringName}' already exists`,
      );
    }
    const ms = this.opMs();
    this.hold(keys, ms);
    return this.operations.start(project, 'addPeering', { link: network.selfLink, id: network.id }, ms, () =>
      this.apply(project, name, (target) => {
        if (target.peerings?.some((p) => p.name === peeringName)) return undefined;
        target.peerings = [
          ...(target.peerings ?? []),
          newPeering(peeringName, networkLink(peer.project, peer.name), spec),
        ];
        return undefined;
      }),
    );
  }

  removePeeringOp(project: string, name: string, body: unknown): ComputeOperation {
    const peeringName = (body as { name?: string } | undefined)?.name;
    if (!peeringName) throw badRequest("Required field 'name' not specified", 'required');
    const network = this.get(project, name);
    const peering = findPeering(network, peeringName, project, name);
    const keys = [key(project, name), this.peerKey(peering, project)];
    this.refuseIfLocked(keys);
    const ms = this.opMs();
    this.hold(keys, ms);
    return this.operations.start(
      project,
      'removePeering',
      { link: network.selfLink, id: network.id },
      ms,
      () =>
        this.apply(project, name, (target) => {
          target.peerings = (target.peerings ?? []).filter((p) => p.name !== peeringName);
          if (target.peerings.length === 0) delete target.peerings;
          return undefined;
        }),
    );
  }

  updatePeeringOp(project: string, name: string, body: unknown): ComputeOperation {
    const spec = ((body as { networkPeering?: Record<string, unknown> } | undefined)?.networkPeering ??
      {}) as Record<string, unknown>;
    const peeringName = spec.name;
    if (typeof peeringName !== 'string' || !peeringName) {
      throw badRequest("Required field 'networkPeering.name' not specified", 'required');
    }
    const network = this.get(project, name);
    const peering = findPeering(network, peeringName, project, name);
    const keys = [key(project, name), this.peerKey(peering, project)];
    this.refuseIfLocked(keys);
    // Only the flags present in the request change; an absent field keeps its value.
    const changes: Partial<NetworkPeering> = {};
    for (const field of UPDATABLE_PEERING_FIELDS) {
      if (spec[field] !== undefined) Object.assign(changes, { [field]: spec[field] });
    }
    const ms = this.opMs();
    this.hold(keys, ms);
    return this.operations.start(
      project,
      'updatePeering',
      { link: network.selfLink, id: network.id },
      ms,
      () =>
        this.apply(project, name, (target) => {
          const current = target.peerings?.find((p) => p.name === peeringName);
          if (!current)
            return {
              code: 'RESOURCE_NOT_FOUND',
              message: `Peering '${peeringName}' not found`,
              httpStatus: 404,
            };
          Object.assign(current, changes);
          return undefined;
        }),
    );
  }

  // ---- internals ----

  private apply(project: string, name: string, change: (n: Network) => OperationError | undefined) {
    const target = this.networks.get(key(project, name));
    if (!target) {
      return {
        code: 'RESOURCE_NOT_FOUND',
        message: `The resource '${networkPath(project, name)}' was not found`,
        httpStatus: 404,
      };
    }
    return change(target);
  }

  private peerKey(peering: NetworkPeering, project: string): string {
    const peer = parseNetworkRef(peering.network, project);
    return key(peer.project, peer.name);
  }

  private refuseIfLocked(keys: string[]): void {
    if (keys.some((k) => (this.locks.get(k) ?? 0) > 0)) throw peeringInProgress();
  }

  /** Locks `keys` for `ms`: the running peering operation's window. */
  private hold(keys: string[], ms: number): void {
    const unique = [...new Set(keys)];
    for (const k of unique) this.locks.set(k, (this.locks.get(k) ?? 0) + 1);
    const timer = setTimeout(() => {
      this.holdTimers.delete(timer);
      for (const k of unique) {
        const n = (this.locks.get(k) ?? 1) - 1;
        if (n > 0) this.locks.set(k, n);
        else this.locks.delete(k);
      }
      const waiters = this.unlockWaiters;
      this.unlockWaiters = [];
      for (const wake of waiters) wake();
    }, ms);
    this.holdTimers.add(timer);
  }

  private async whenUnlocked(keys: string[]): Promise<void> {
    while (keys.some((k) => (this.locks.get(k) ?? 0) > 0)) {
      await new Promise<void>((resolve) => this.unlockWaiters.push(resolve));
    }
  }
}

function newPeering(name: string, peerLink: string, spec: Partial<NetworkPeering>): NetworkPeering {
  return {
    name,
    network: peerLink,
    state: 'ACTIVE',
    stateDetails: '[2024-01-01T00:00:00Z]: Connected.',
    autoCreateRoutes: true,
    exchangeSubnetRoutes: true,
    exportCustomRoutes: spec.exportCustomRoutes ?? false,
    importCustomRoutes: spec.importCustomRoutes ?? false,
    exportSubnetRoutesWithPublicIp: spec.exportSubnetRoutesWithPublicIp ?? true,
    importSubnetRoutesWithPublicIp: spec.importSubnetRoutesWithPublicIp ?? false,
    stackType: spec.stackType ?? 'IPV4_ONLY',
  };
}

function findPeering(network: Network, name: string, project: string, networkName: string): NetworkPeering {
  const peering = network.peerings?.find((p) => p.name === name);
  if (!peering) {
    throw notFound(`The resource '${networkPath(project, networkName)}/peerings/${name}' was not found`);
  }
  return peering;
}

function missingNetwork(project: string, name: string): GoogleApiError {
  return notFound(`The resource '${networkPath(project, name)}' was not found`);
}

/**
 * The `filter` forms Spokefleet and people use on networks: `name = "x"`, `name != "x"`, and the regular
 * expression forms `name eq x` / `name ne x` (full match). Anything else is refused rather than ignored, so a
 * caller never mistakes an unfiltered list for a filtered one.
 */
function nameFilter(filter: string | null): (name: string) => boolean {
  if (!filter?.trim()) return () => true;
  const m = /^\s*\(?\s*name\s*(=|!=|eq|ne)\s*"?([^"]*?)"?\s*\)?\s*$/.exec(filter);
  if (!m) {
    throw badRequest(
      `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
      'invalid',
    );
  }
  const [, op, value] = m;
  if (op === '=') return (n) => n === value;
  if (op === '!=') return (n) => n !== value;
  const re = new RegExp(`^(?:${value})$`);
  return op === 'eq' ? (n) => re.test(n) : (n) => !re.test(n);
}
