/**
 * Row 4: the cluster is a fleet member, with workload identity. Never a second membership for a cluster that is
 * already in a fleet: GKE's own `fleet.membership` is checked first (born-in-fleet clusters have a regional one),
 * then the fleet's memberships by resource link.
 */
import type { ClusterInfo, Membership } from '../cloud/ports';
import { isAlreadyExists, PermanentError } from '../errors';
import type { ClusterRef } from '../events/types';
import type { Decision, ReconcileContext } from './context';
import { wrote } from './context';
import {
  clusterIssuer,
  clusterResourceLink,
  fallbackMembershipId,
  MANAGED_BY,
  MEMBERSHIP_MANAGED_LABEL,
  membershipResourceName,
  parseMembershipName,
  preferredMembershipId,
  regionOf,
  sameResourceLink,
} from './names';

export interface MembershipDecision extends Decision {
  /** `projects/P/locations/L/memberships/ID` once the cluster is (or, in dry-run, would be) a member. */
  membership?: string;
}

/** The fleet's memberships, read once per invocation. */
export function fleetMemberships(ctx: ReconcileContext): Promise<Membership[]> {
  const { fleetProject } = ctx.config;
  return ctx.memo.get(`memberships:${fleetProject}`, () => ctx.cloud.fleet.listMemberships(fleetProject));
}

export function findMembershipFor(
  memberships: readonly Membership[],
  ref: ClusterRef,
): Membership | undefined {
  const link = clusterResourceLink(ref);
  return memberships.find((m) => sameResourceLink(m.resourceLink, link));
}

export async function ensureMembership(
  ctx: ReconcileContext,
  cluster: ClusterInfo,
): Promise<MembershipDecision> {
  const { fleetProject } = ctx.config;
  if (cluster.fleetMembership) {
    const name = membershipResourceName(cluster.fleetMembership);
    return { outcome: 'unchanged', reason: `cluster is a fleet member as ${name}`, membership: name };
  }
  const memberships = await fleetMemberships(ctx);
  const existing = findMembershipFor(memberships, cluster.ref);
  if (existing?.workloadIdentityPool) {
    return { outcome: 'unchanged', reason: `membership ${existing.name}`, membership: existing.name };
  }
  if (existing) {
    // Registered without workload identity (no authority): give it the cluster's issuer, as row 4 requires.
    if (!ctx.dryRun) await ctx.cloud.fleet.setAuthority(existing.name, clusterIssuer(cluster.ref));
    return {
      ...wrote(ctx, 'updated', `membership ${existing.name}: workload identity enabled`),
      membership: existing.name,
    };
  }

  const location = ctx.config.membership.location === 'global' ? 'global' : regionOf(cluster.ref.location);
  const id = chooseMembershipId(ctx, memberships, cluster.ref, location);
  const name = `projects/${fleetProject}/locations/${location}/memberships/${id}`;
  if (ctx.dryRun) return { ...wrote(ctx, 'created', `membership ${name}`), membership: name };
  try {
    await ctx.cloud.fleet.createMembership(fleetProject, location, id, {
      resourceLink: clusterResourceLink(cluster.ref),
      issuer: clusterIssuer(cluster.ref),
      labels: { [MEMBERSHIP_MANAGED_LABEL]: MANAGED_BY },
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    // Another delivery of this event may have won the race: if the membership is now ours, nothing is left to do.
    ctx.memo.forget(`memberships:${fleetProject}`);
    const now = findMembershipFor(await fleetMemberships(ctx), cluster.ref);
    if (now)
      return {
        outcome: 'unchanged',
        reason: `membership ${now.name} (created concurrently)`,
        membership: now.name,
      };
    throw new PermanentError(
      `membership id ${id} is taken and the cluster has no membership`,
      'membership-conflict',
    );
  }
  ctx.memo.forget(`memberships:${fleetProject}`);
  return { ...wrote(ctx, 'created', `membership ${name}`), membership: name };
}

/** The preferred id unless another cluster holds it; then the deterministic hashed fallback. */
function chooseMembershipId(
  ctx: ReconcileContext,
  memberships: readonly Membership[],
  ref: ClusterRef,
  location: string,
): string {
  const taken = (id: string) =>
    memberships.some((m) => {
      const parsed = parseMembershipName(m.name);
      return parsed?.id === id && parsed.location === location;
    });
  const preferred = preferredMembershipId(ctx.config.membership.idTemplate, ref);
  if (!taken(preferred)) return preferred;
  const fallback = fallbackMembershipId(preferred, ref);
  if (!taken(fallback)) return fallback;
  throw new PermanentError(
    `membership ids ${preferred} and ${fallback} are both taken by other clusters`,
    'membership-conflict',
  );
}
