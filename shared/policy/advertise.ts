/**
 * Which of a cluster's ranges its spoke gateway must advertise, and the add-only include
 * list that does it. Aviatrix's "Customize Spoke Advertised VPC CIDRs" include list *replaces* what the spoke
 * advertises (the provider's docs: "When configured, it will replace all advertised routes from this VPC"), so:
 * - a CIDR already in the list is never removed, reordered or rewritten;
 * - an empty list means "the default advertisement" — the VPC's subnets — so the first addition writes those
 *   subnet ranges too, or the VPC would vanish from the transit;
 * - a range that an entry already covers (10.0.0.0/8 covers a pod /14) is already advertised and is not added.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { ClusterInfo, SubnetRanges } from '../cloud/ports';

export interface AdvertiseOptions {
  controlPlane: boolean;
  pods: boolean;
  services: boolean;
}

export type RangeKind = 'control plane' | 'pods' | 'services';

export interface WantedRange {
  kind: RangeKind;
  cidr: string;
}

/** The cluster's ranges the options ask for, in a fixed order. PSC clusters have no master range to add. */
export function wantedRanges(ranges: ClusterInfo['ranges'], options: AdvertiseOptions): WantedRange[] {
  const wanted: WantedRange[] = [];
  if (options.controlPlane && ranges?.master) wanted.push({ kind: 'control plane', cidr: ranges.master });
  if (options.pods && ranges?.pods) wanted.push({ kind: 'pods', cidr: ranges.pods });
  if (options.services && ranges?.services) wanted.push({ kind: 'services', cidr: ranges.services });
  return wanted;
}

/** `10.4.0.0/14` → address and prefix; anything but IPv4 CIDR notation → undefined. */
export function parseIpv4Cidr(text: string): { address: string; prefix: number } | undefined {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!match || !isIPv4(match[1])) return undefined;
  const prefix = Number(match[2]);
  return prefix <= 32 ? { address: match[1], prefix } : undefined;
}

/** Does `outer` include every address of `inner`? Unparseable entries only match themselves. */
export function covers(outer: string, inner: string): boolean {
  if (outer.trim() === inner.trim()) return true;
  const o = parseIpv4Cidr(outer);
  const i = parseIpv4Cidr(inner);
  if (!o || !i || o.prefix > i.prefix) return false;
  const list = new BlockList();
  list.addSubnet(o.address, o.prefix, 'ipv4');
  // inner's first address, after masking to its own prefix.
  return list.check(networkAddress(i.address, i.prefix), 'ipv4');
}

function networkAddress(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(n / size) * size;
  return [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256).join('.');
}

export function isAdvertised(list: readonly string[], cidr: string): boolean {
  return list.some((entry) => covers(entry, cidr));
}

/** `us-east4-a` → `us-east4`; a region stays as it is. */
export function regionOfZone(location: string): string {
  return /^[a-z]+-[a-z]+\d+-[a-z]$/.test(location) ? location.slice(0, location.lastIndexOf('-')) : location;
}

export type DefaultAdvertisement = { ok: true; cidrs: string[] } | { ok: false; reason: string };

/**
 * What a spoke gateway with an empty include list advertises: its VPC's subnet (primary) ranges — with GCP Global
 * VPC on, only those of the gateway's own region (Aviatrix: "When global VPC is enabled, the spoke only advertises
 * its own region to the transit network"). Secondary ranges are not counted: no source says they are advertised,
 * and that is why pod ranges need adding at all.
 */
export function defaultAdvertisement(
  subnets: readonly SubnetRanges[],
  gateway: { name: string; globalVpc: boolean; region?: string },
): DefaultAdvertisement {
  let served = subnets;
  if (gateway.globalVpc) {
    if (!gateway.region) {
      return {
        ok: false,
        reason: `gateway ${gateway.name} has Global VPC on but reports no region, so the subnets it advertises are unknown`,
      };
    }
    const region = regionOfZone(gateway.region);
    served = subnets.filter((s) => s.region === region);
  }
  const cidrs = [...new Set(served.map((s) => s.primary))];
  if (cidrs.length === 0) {
    return {
      ok: false,
      reason: `no subnet ranges found for gateway ${gateway.name}; writing an include list now could withdraw what it advertises`,
    };
  }
  return { ok: true, cidrs };
}

export interface IncludePlan {
  before: string[];
  after: string[];
  /** The cluster's ranges this plan adds. */
  added: WantedRange[];
  /** The default advertisement written out because the list was empty. */
  defaults: string[];
}

/**
 * The include list after adding `wanted`: `current` untouched (or, when empty, the default advertisement), then
 * every wanted range not already covered. Never shorter than before, never without an entry it had.
 */
export function planIncludeList(
  current: readonly string[],
  defaults: readonly string[],
  wanted: readonly WantedRange[],
): IncludePlan {
  const base = current.length > 0 ? [...current] : [...new Set(defaults)];
  const after = [...base];
  const added: WantedRange[] = [];
  for (const range of wanted) {
    if (isAdvertised(after, range.cidr)) continue;
    after.push(range.cidr);
    added.push(range);
  }
  return {
    before: [...current],
    after: added.length > 0 || current.length > 0 ? after : [...current],
    added,
    defaults: current.length > 0 || added.length === 0 ? [] : base,
  };
}

/** `[a, b]`, or `[] (default: the VPC's subnets)` for an empty list. */
export function describeList(list: readonly string[]): string {
  return list.length > 0 ? `[${list.join(', ')}]` : '[] (default: the VPC subnets)';
}

export function describeRanges(ranges: readonly WantedRange[]): string {
  return ranges.map((r) => `${r.cidr} (${r.kind})`).join(', ');
}
