/**
 * Compute Engine subnetworks, read-only over REST (`regions/{region}/subnetworks/{subnetwork}`), in the shape of
 * the compute v1 `Subnetwork` resource: the primary `ipCidrRange` and the `secondaryIpRanges` (GKE's pod and
 * Service ranges usually live there). The sandbox adds them with `add`, which also lists the subnetwork's URL in
 * its network's `subnetworks`, as `networks.get` shows it.
 */
import { notFound, numericId, timestamp } from '../google-rest';
import type { NetworkStore } from './networks';
import { COMPUTE_BASE } from './operations';

export interface Subnetwork {
  kind: 'compute#subnetwork';
  id: string;
  creationTimestamp: string;
  name: string;
  network: string;
  ipCidrRange: string;
  gatewayAddress: string;
  region: string;
  selfLink: string;
  privateIpGoogleAccess: boolean;
  secondaryIpRanges?: Array<{ rangeName: string; ipCidrRange: string }>;
  stackType: 'IPV4_ONLY';
  purpose: 'PRIVATE';
}

export interface AddSubnetworkOptions {
  /** The network's short name, in the same project. */
  network: string;
  ipCidrRange: string;
  secondaryIpRanges?: Array<{ rangeName: string; ipCidrRange: string }>;
}

const key = (project: string, region: string, name: string) => `${project}/${region}/${name}`;

/** The first usable address of a range is the subnet's gateway (GCE reserves it). */
function gatewayOf(cidr: string): string {
  const [address] = cidr.split('/');
  const octets = address.split('.').map(Number);
  octets[3] += 1;
  return octets.join('.');
}

export class SubnetworkStore {
  private readonly subnetworks = new Map<string, Subnetwork>();

  constructor(private readonly networks: NetworkStore) {}

  add(project: string, region: string, name: string, options: AddSubnetworkOptions): Subnetwork {
    if (!this.networks.getNetwork(project, options.network)) {
      throw new Error(`network projects/${project}/global/networks/${options.network} not found`);
    }
    const selfLink = `${COMPUTE_BASE}/projects/${project}/regions/${region}/subnetworks/${name}`;
    const subnetwork: Subnetwork = {
      kind: 'compute#subnetwork',
      id: numericId(),
      creationTimestamp: timestamp(),
      name,
      network: `${COMPUTE_BASE}/projects/${project}/global/networks/${options.network}`,
      ipCidrRange: options.ipCidrRange,
      gatewayAddress: gatewayOf(options.ipCidrRange),
      region: `${COMPUTE_BASE}/projects/${project}/regions/${region}`,
      selfLink,
      privateIpGoogleAccess: false,
      ...(options.secondaryIpRanges?.length ? { secondaryIpRanges: options.secondaryIpRanges } : {}),
      stackType: 'IPV4_ONLY',
      purpose: 'PRIVATE',
    };
    this.subnetworks.set(key(project, region, name), subnetwork);
    this.networks.linkSubnetwork(project, options.network, selfLink);
    return structuredClone(subnetwork);
  }

  /** `subnetworks.get`; 404 in Compute's words when it does not exist. */
  get(project: string, region: string, name: string): Subnetwork {
    const subnetwork = this.subnetworks.get(key(project, region, name));
    if (!subnetwork) {
      throw notFound(
        `The resource 'projects/${project}/regions/${region}/subnetworks/${name}' was not found`,
      );
    }
    return structuredClone(subnetwork);
  }

  list(): Subnetwork[] {
    return [...this.subnetworks.values()].map((s) => structuredClone(s));
  }
}
