/**
 * The cluster is a fleet member, with workload identity. Never a second membership for a cluster that is
 * already in a fleet: GKE's own `fleet.membership` is checked first (born-in-fleet clusters have a regional one),
 * then the fleet's memberships by resource link.
 */
import type { ClusterInfo, Membership } from '../cloud/ports';
import type { Config } from '../config';
import { isAlreadyExists, isResourceExhausted, PermanentError, TransientError } from '../errors';
import type { ClusterRef } from '../events/types';
import { membershipResourceName, parseMembershipName, SETTLING_MEMBERSHIP_STATES } from '../membership-name';
import type { Decision, ReconcileContext } from './context';
import { wrote } from './context';
import {
  clusterIssuer,
  clusterResourceLink,
  fallbackMembershipId,
  MANAGED_BY,
  MEMBERSHIP_MANAGED_LABEL,
  MEMBERSHIP_OWNER_LABEL,
  preferredMembershipId,
  regionOf,
  sameResourceLink,
} from './names';
import { expectedMs, startWithin } from './resume';

export interface MembershipDecision extends Decision {
  /** `projects/P/locations/L/memberships/ID` once the cluster is (or, in dry-run, would be) a member. */
  membership?: string;
  /** Whether that membership exists now (false only when a dry run plans to create it). */
  exists: boolean;
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
    return {
      outcome: 'unchanged',
      reason: `cluster is a fleet member as ${name}`,
      membership: name,
      exists: true,
    };
  }
  const memberships = await fleetMemberships(ctx);
  let existing = findMembershipFor(memberships, cluster.ref);
  let settledFrom: string | undefined;
  if (existing && SETTLING_MEMBERSHIP_STATES.has(existing.state ?? '')) {
    // A create (or update) started by an earlier invocation: wait for it rather than act on a half-made membership.
    if (ctx.dryRun) {
      return {
        outcome: 'unchanged',
        reason: `membership ${existing.name} is ${existing.state}`,
        membership: existing.name,
        exists: true,
      };
    }
    settledFrom = existing.state;
    const name = existing.name;
    try {
      existing = await ctx.cloud.fleet.awaitMembership(name);
    } catch (error) {
      if (error instanceof TransientError && error.reason === 'operation-timeout') {
        throw new TransientError(
          `membership ${name} is still ${settledFrom}; waiting for it is left to the redelivery`,
          'operation-running',
          { cause: error },
        );
      }
      throw error;
    }
    if (!existing) ctx.memo.forget(`memberships:${fleetProject}`);
  }
  if (existing?.workloadIdentityPool) {
    if (settledFrom) {
      return {
        outcome: 'unchanged',
        reason: `membership ${existing.name} (${settledFrom} when found, now ${existing.state ?? 'settled'})`,
        membership: existing.name,
        exists: true,
      };
    }
    return {
      outcome: 'unchanged',
      reason: `membership ${existing.name}`,
      membership: existing.name,
      exists: true,
    };
  }
  if (existing) {
    // Registered without workload identity (no authority): give it the cluster's issuer, as fleet workload identity requires.
    if (!ctx.dryRun) {
      startWithin('memberships.patch (authority)', expectedMs(ctx, 'membershipUpdate'));
      await ctx.cloud.fleet.setAuthority(existing.name, clusterIssuer(cluster.ref));
    }
    return {
      ...wrote(ctx, 'updated', `membership ${existing.name}: workload identity enabled`),
      membership: existing.name,
      exists: true,
    };
  }

  const location = ctx.config.membership.location === 'global' ? 'global' : regionOf(cluster.ref.location);
  const full = fleetFull(ctx, memberships, location);
  if (full) return { outcome: 'refused', reason: full, exists: false };
  const spec = {
    resourceLink: clusterResourceLink(cluster.ref),
    issuer: clusterIssuer(cluster.ref),
    labels: membershipLabels(ctx.config),
  };
  // Two tries at most: the second only after a concurrent writer took the id we chose (then the list, read again,
  // either shows our cluster's membership or makes chooseMembershipId fall back to the hashed id).
  for (let attempt = 1; ; attempt++) {
    const current = await fleetMemberships(ctx);
    const id = chooseMembershipId(ctx, current, cluster.ref, location);
    const name = `projects/${fleetProject}/locations/${location}/memberships/${id}`;
    if (ctx.dryRun)
      return { ...wrote(ctx, 'created', `membership ${name}`), membership: name, exists: false };
    startWithin('memberships.create', expectedMs(ctx, 'membershipCreate'));
    try {
      const created = await ctx.cloud.fleet.createMembership(fleetProject, location, id, spec);
      // Keep this invocation's view current instead of reading the whole list again.
      current.push({ ...created, name });
      return { ...wrote(ctx, 'created', `membership ${name}`), membership: name, exists: true };
    } catch (error) {
      if (isResourceExhausted(error)) {
        // Hub's allocation quota, if another writer filled the fleet meanwhile; a rate limit stays transient.
        ctx.memo.forget(`memberships:${fleetProject}`);
        const now = fleetFull(ctx, await fleetMemberships(ctx), location);
        if (now) return { outcome: 'refused', reason: now, exists: false };
      }
      if (!isAlreadyExists(error) || attempt >= 2) throw error;
      ctx.memo.forget(`memberships:${fleetProject}`);
      const now = findMembershipFor(await fleetMemberships(ctx), cluster.ref);
      if (now) {
        return {
          outcome: 'unchanged',
          reason: `membership ${now.name} (created concurrently)`,
          membership: now.name,
          exists: true,
        };
      }
    }
  }
}

/**
 * "Fleet is full" when the location's memberships reached GKE Hub's quota (250 clusters with global memberships,
 * 50 with regional ones, per fleet): a refusal someone must act on, not a failure to retry forever.
 */
function fleetFull(
  ctx: ReconcileContext,
  memberships: readonly Membership[],
  location: string,
): string | undefined {
  const global = location === 'global';
  const limit = global ? ctx.config.limits.maxGlobalMemberships : ctx.config.limits.maxRegionalMemberships;
  const used = memberships.filter(
    (m) => (parseMembershipName(m.name)?.location === 'global') === global,
  ).length;
  if (used < limit) return undefined;
  return `fleet is full: ${used} ${global ? 'global' : 'regional'} memberships in ${ctx.config.fleetProject} (quota ${limit}); raise the GKE Hub memberships quota or use the other membership location`;
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

/** The labels on every membership this deployment creates. */
export function membershipLabels(config: Config): Record<string, string> {
  return { [MEMBERSHIP_MANAGED_LABEL]: MANAGED_BY, [MEMBERSHIP_OWNER_LABEL]: config.owner };
}

/** Created by this deployment: the only memberships it ever deletes. */
export function ownsMembership(config: Config, membership: Membership): boolean {
  return (
    membership.labels[MEMBERSHIP_MANAGED_LABEL] === MANAGED_BY &&
    membership.labels[MEMBERSHIP_OWNER_LABEL] === config.owner
  );
}
