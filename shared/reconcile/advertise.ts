/**
 * Opt-in (`aviatrix.advertise`): the spoke gateway of the cluster's VPC advertises the cluster's master
 * and pod ranges (and the Service range if asked) to the Aviatrix transit, through the gateway's include list.
 *
 * Add-only, and guarded against concurrent writers: the Controller's `edit_gateway_advertised_cidr` replaces the
 * whole list and has no version check, so two clusters onboarding at once could each write "what I read + mine"
 * and lose the other's addition. In this process one writer per gateway runs at a time (a keyed mutex); against
 * other instances the list is re-read just before writing, and read back `verifyDelayMs` after writing — a
 * writer that read before our write has written by then, and what it dropped is added again. The periodic
 * reconcile repeats the whole check, so an addition lost to a slower writer comes back at the next run.
 */
import type { ClusterInfo } from '../cloud/ports';
import { KeyedMutex } from '../concurrency';
import { TransientError } from '../errors';
import {
  type AdvertiseOptions,
  defaultAdvertisement,
  describeList,
  describeRanges,
  isAdvertised,
  planIncludeList,
  regionOfZone,
  type WantedRange,
  wantedRanges,
} from '../policy/advertise';
import type { GatewayAdvertiser, SpokeGateway } from '../policy/aviatrix';
import type { Decision, ReconcileContext } from './context';

/** Read, write, verify rounds before the event goes back to Pub/Sub. */
const MAX_ROUNDS = 4;

const locks = new WeakMap<GatewayAdvertiser, KeyedMutex>();

function lockOf(advertiser: GatewayAdvertiser): KeyedMutex {
  let lock = locks.get(advertiser);
  if (!lock) {
    lock = new KeyedMutex();
    locks.set(advertiser, lock);
  }
  return lock;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function ensureAdvertised(ctx: ReconcileContext, cluster: ClusterInfo): Promise<Decision> {
  const options = ctx.config.aviatrix?.advertise;
  const advertiser = ctx.advertiser;
  if (!options || !advertiser) return { outcome: 'skipped', reason: 'aviatrix.advertise is off' };
  const wanted = wantedRanges(cluster.ranges, options);
  if (wanted.length === 0) return { outcome: 'unchanged', reason: nothingWanted(cluster, options) };

  const vpc = { project: cluster.network.project, network: cluster.network.name };
  const gateways = await advertiser.listGateways(vpc);
  const gateway = pickGateway(gateways, regionOfZone(cluster.ref.location));
  if (typeof gateway === 'string') {
    return { outcome: 'refused', reason: `VPC ${vpc.project}/${vpc.network}: ${gateway}` };
  }
  return lockOf(advertiser).run(gateway.name, () =>
    addRanges(ctx, advertiser, gateway.name, wanted, options),
  );
}

function nothingWanted(cluster: ClusterInfo, options: AdvertiseOptions): string {
  const asked = [
    options.controlPlane ? 'control plane' : '',
    options.pods ? 'pods' : '',
    options.services ? 'services' : '',
  ].filter(Boolean);
  if (asked.length === 0) return 'nothing to advertise: aviatrix.advertise asks for no range';
  const why =
    options.controlPlane && !cluster.peeringName
      ? ' (no master range: Private Service Connect or public control plane)'
      : '';
  return `nothing to advertise: the cluster reports no ${asked.join('/')} range asked for${why}`;
}

/** The one spoke gateway for the cluster: the VPC's only one, else the only one in the cluster's region. */
function pickGateway(gateways: readonly SpokeGateway[], region: string): SpokeGateway | string {
  if (gateways.length === 0) return 'the Aviatrix Controller lists no spoke gateway for it';
  if (gateways.length === 1) return gateways[0];
  const local = gateways.filter((g) => g.region && regionOfZone(g.region) === region);
  if (local.length === 1) return local[0];
  return `${gateways.length} spoke gateways (${gateways.map((g) => g.name).join(', ')}) and not exactly one in ${region}; not choosing`;
}

async function addRanges(
  ctx: ReconcileContext,
  advertiser: GatewayAdvertiser,
  name: string,
  wanted: readonly WantedRange[],
  options: { verifyDelayMs: number },
): Promise<Decision> {
  let firstWrite: string | undefined;
  for (let writes = 0; ; writes++) {
    // Re-read before every write: never write a list older than this call.
    const gateway = await advertiser.getGateway(name);
    if (!gateway) return { outcome: 'refused', reason: `gateway ${name} is not reported by the Controller` };
    const current = gateway.includeCidrs;
    let defaults: string[] = [];
    if (current.length === 0) {
      // An empty list advertises the VPC's subnets: what it advertises now, and what a first write must keep.
      const subnets = await ctx.cloud.peering.listSubnetRanges(gateway.vpc.project, gateway.vpc.network);
      const found = defaultAdvertisement(subnets ?? [], gateway);
      if (!found.ok) return { outcome: 'refused', reason: found.reason };
      defaults = found.cidrs;
    }
    const advertised = current.length > 0 ? current : defaults;
    if (wanted.every((w) => isAdvertised(advertised, w.cidr))) {
      if (!firstWrite)
        return { outcome: 'unchanged', reason: `gateway ${name} advertises ${describeRanges(wanted)}` };
      const again = writes > 1 ? `; written ${writes} times (a concurrent writer dropped it)` : '';
      return { outcome: 'updated', reason: `${firstWrite}${again}` };
    }
    if (writes >= MAX_ROUNDS) break;
    const plan = planIncludeList(current, defaults, wanted);
    const kept = plan.defaults.length
      ? `; the list was empty, so the ${plan.defaults.length} subnet range(s) it advertised by default are written too (${plan.defaults.join(', ')})`
      : '';
    const summary = `gateway ${name}: adds ${describeRanges(plan.added)}${kept}; include list ${describeList(plan.before)} → ${describeList(plan.after)}`;
    if (ctx.dryRun) return { outcome: 'planned', reason: `would be updated: ${summary}` };
    await advertiser.setIncludedCidrs(name, plan.after);
    firstWrite ??= summary;
    // Read back after the others' read-to-write window; a lost addition shows up as missing and is redone.
    if (options.verifyDelayMs > 0) await sleep(options.verifyDelayMs);
  }
  throw new TransientError(
    `gateway ${name}: the include list kept changing under concurrent writers; ${describeRanges(wanted)} not confirmed after ${MAX_ROUNDS} writes`,
    'aviatrix-concurrent-writes',
  );
}
