/**
 * reconcileCluster composes the onboarding steps for one cluster (and the opt-in spoke advertisement);
 * offboardCluster removes what it registered. Each step is idempotent; a step that refuses stops the steps that
 * depend on it, which are recorded as skipped with why.
 */
import type { ClusterInfo, KubePort } from '../cloud/ports';
import { isNotFound } from '../errors';
import type { ClusterRef } from '../events/types';
import { decideSpoke } from '../policy/spokes';
import type { ActionRecord } from './action';
import { ensureAdvertised } from './advertise';
import { type Decision, failed, type ReconcileContext, runStep, skipped, wrote } from './context';
import { reconcileExports } from './exports';
import { ensureMcsFeature } from './feature';
import { kubeFor } from './kube';
import { ensureMembership, findMembershipFor, fleetMemberships, ownsMembership } from './membership';
import { MANAGED_BY, MEMBERSHIP_MANAGED_LABEL, MEMBERSHIP_OWNER_LABEL, refString } from './names';
import { ensureNamespaces } from './namespaces';
import { ensurePeeringExport } from './peering';
import { ensureNodePoolMetadata, ensureWorkloadIdentity } from './workload-identity';

/** Why a cluster request published by a fan-out leaves the exports alone. */
export const EXPORTS_BY_PARENT =
  'reconciled by the fleet or project request that published this request, against one fleet-wide view';

/** Clusters in these states are (or will be) gone; nothing is onboarded onto them. */
const GOING_AWAY = new Set(['STOPPING', 'ERROR']);

/**
 * Is this cluster one Spokefleet manages? It exists and is not going away, it is in an allowed project and a spoke
 * VPC. `unchanged` means yes; anything else says why not (`skipped`, `refused`), or throws.
 */
async function spokeDecision(
  ctx: ReconcileContext,
  ref: ClusterRef,
  cluster: ClusterInfo | undefined,
): Promise<Decision> {
  if (!ctx.config.projects.includes(ref.project)) {
    return { outcome: 'refused', reason: `project ${ref.project} is not in the allowed projects` };
  }
  if (!cluster) return { outcome: 'skipped', reason: 'cluster not found (deleted, or not created yet)' };
  if (GOING_AWAY.has(cluster.status)) return { outcome: 'skipped', reason: `cluster is ${cluster.status}` };
  // Configured spokes first: the Controller is asked only about clusters they do not cover, so its outage
  // holds up (as a transient failure) only the clusters that need it.
  let decision = decideSpoke(ctx.config, ref.project, cluster.network);
  if (!decision.allowed && !decision.final && ctx.extraSpokes) {
    decision = decideSpoke(ctx.config, ref.project, cluster.network, await ctx.extraSpokes());
  }
  return { outcome: decision.allowed ? 'unchanged' : 'skipped', reason: decision.reason };
}

/** Multi-Cluster Services' cluster requirements: VPC-native, and the HttpLoadBalancing add-on on. */
function prerequisitesDecision(cluster: ClusterInfo): Decision {
  if (!cluster.vpcNative) {
    return {
      outcome: 'refused',
      reason: 'cluster is routes-based; Multi-Cluster Services requires a VPC-native cluster',
    };
  }
  if (!cluster.httpLoadBalancing) {
    return {
      outcome: 'refused',
      reason:
        'the HttpLoadBalancing add-on is disabled; Multi-Cluster Services requires it (gcloud container clusters update --update-addons=HttpLoadBalancing=ENABLED)',
    };
  }
  return { outcome: 'unchanged', reason: 'VPC-native (alias IPs), HttpLoadBalancing add-on on' };
}

/**
 * The admission checks for any handler that acts on a cluster: it exists, it is in an allowed project and a spoke
 * VPC, and it meets MCS's cluster requirements. Returns the cluster when every check passes.
 */
export async function admitCluster(
  ctx: ReconcileContext,
  ref: ClusterRef,
  records: ActionRecord[],
): Promise<ClusterInfo | undefined> {
  const target = refString(ref);
  let cluster: ClusterInfo | undefined;
  const spoke = await runStep(ctx, 'spoke', target, async () => {
    if (ctx.config.projects.includes(ref.project)) cluster = await ctx.cloud.clusters.get(ref);
    return spokeDecision(ctx, ref, cluster);
  });
  records.push(spoke);
  if (spoke.outcome !== 'unchanged' || !cluster) return undefined;
  const admitted: ClusterInfo = cluster;
  const prerequisites = await runStep(ctx, 'vpc-native', target, async () => prerequisitesDecision(admitted));
  records.push(prerequisites);
  return prerequisites.outcome === 'unchanged' ? admitted : undefined;
}

/**
 * The same admission for a cluster already read (a project or fleet request lists its clusters), without records:
 * true when every check passes. A failed look-up counts as not admitted.
 */
export async function isAdmitted(ctx: ReconcileContext, cluster: ClusterInfo): Promise<boolean> {
  try {
    const spoke = await spokeDecision(ctx, cluster.ref, cluster);
    return spoke.outcome === 'unchanged' && prerequisitesDecision(cluster).outcome === 'unchanged';
  } catch {
    return false;
  }
}

export interface ClusterOptions {
  /**
   * The project or fleet request that published this cluster request reconciles the cluster's exports itself, for
   * every member cluster at once against one fleet-wide view (see reconcileFleetExports); this request skips them.
   */
  exportsByParent?: boolean;
}

export async function reconcileCluster(
  ctx: ReconcileContext,
  ref: ClusterRef,
  options: ClusterOptions = {},
): Promise<ActionRecord[]> {
  const records: ActionRecord[] = [];
  const target = refString(ref);
  const cluster = await admitCluster(ctx, ref, records);
  if (!cluster) return records;

  const identity = await runStep(ctx, 'workload-identity', target, () =>
    ensureWorkloadIdentity(ctx, cluster),
  );
  records.push(identity);
  const identityOk = identity.outcome !== 'refused' && identity.outcome !== 'failed';
  records.push(
    identityOk && identity.outcome !== 'skipped'
      ? await runStep(ctx, 'node-pools', target, () => ensureNodePoolMetadata(ctx, cluster))
      : skipped('node-pools', target, ctx, `workload identity is ${identity.outcome}`),
  );

  let membership: string | undefined;
  let membershipExists = false;
  if (identityOk) {
    const record = await runStep(ctx, 'membership', target, async () => {
      const decision = await ensureMembership(ctx, cluster);
      membership = decision.membership;
      membershipExists = decision.exists;
      return { outcome: decision.outcome, reason: decision.reason };
    });
    records.push(record);
  } else {
    records.push(skipped('membership', target, ctx, `workload identity is ${identity.outcome}`));
  }

  records.push(await runStep(ctx, 'mcs-feature', ctx.config.fleetProject, () => ensureMcsFeature(ctx)));
  records.push(await runStep(ctx, 'peering', target, () => ensurePeeringExport(ctx, cluster)));
  if (ctx.config.aviatrix?.advertise) {
    records.push(await runStep(ctx, 'advertise', target, () => ensureAdvertised(ctx, cluster)));
  }

  const kubeBlocked = !membership
    ? 'the cluster has no fleet membership'
    : !membershipExists && ctx.config.kubeAccess === 'connectGateway'
      ? 'the membership does not exist yet (dry run), so the Connect gateway cannot reach the cluster'
      : undefined;
  if (kubeBlocked) {
    records.push(
      skipped('namespaces', target, ctx, kubeBlocked),
      skipped('exports', target, ctx, kubeBlocked),
    );
    return records;
  }
  let kube: KubePort;
  try {
    kube = await kubeFor(ctx, { ref, membership, cluster });
  } catch (error) {
    records.push(
      await failed(ctx, 'kube-connect', target, error),
      skipped('namespaces', target, ctx, 'the Kubernetes API is unreachable'),
      skipped('exports', target, ctx, 'the Kubernetes API is unreachable'),
    );
    return records;
  }
  records.push(...(await ensureNamespaces(ctx, kube, target)));
  if (options.exportsByParent) {
    records.push(skipped('exports', target, ctx, EXPORTS_BY_PARENT));
    return records;
  }
  records.push(...(await reconcileExports(ctx, kube, ref)));
  return records;
}

/** A deleted cluster leaves no membership that Spokefleet created. */
export async function offboardCluster(ctx: ReconcileContext, ref: ClusterRef): Promise<ActionRecord[]> {
  const record = await runStep(ctx, 'offboard', refString(ref), async () => {
    if (!ctx.config.projects.includes(ref.project)) {
      return { outcome: 'refused', reason: `project ${ref.project} is not in the allowed projects` };
    }
    // A delete entry delivered late, after a cluster of the same name was created again, must not offboard it.
    if (await ctx.cloud.clusters.get(ref))
      return { outcome: 'skipped', reason: 'the cluster exists; not offboarding' };
    const membership = findMembershipFor(await fleetMemberships(ctx), ref);
    if (!membership) return { outcome: 'unchanged', reason: 'no membership for this cluster' };
    if (!ownsMembership(ctx.config, membership)) {
      const owner = membership.labels[MEMBERSHIP_OWNER_LABEL];
      return {
        outcome: 'skipped',
        reason:
          membership.labels[MEMBERSHIP_MANAGED_LABEL] !== MANAGED_BY
            ? `membership ${membership.name} was not created by Spokefleet; left alone`
            : `membership ${membership.name} belongs to ${owner ? `Spokefleet deployment ${owner}` : 'no Spokefleet deployment (no spokefleet-owner label)'}; left alone`,
      };
    }
    if (ctx.dryRun) return wrote(ctx, 'deleted', `membership ${membership.name}`);
    try {
      await ctx.cloud.fleet.deleteMembership(membership.name);
    } catch (error) {
      if (isNotFound(error)) return { outcome: 'unchanged', reason: 'membership already gone' };
      throw error;
    }
    return wrote(ctx, 'deleted', `membership ${membership.name}`);
  });
  const records = [record];
  // Advertising is add-only: a deleted cluster's ranges are reported, never withdrawn (another cluster may reuse them,
  // and a wrong removal cuts a VPC off the transit).
  if (ctx.config.aviatrix?.advertise && record.outcome !== 'skipped' && record.outcome !== 'refused') {
    records.push(
      skipped(
        'advertise',
        refString(ref),
        ctx,
        "cluster deleted: Spokefleet never removes a CIDR, so its ranges stay in its spoke gateway's include list until someone removes them",
      ),
    );
  }
  return records;
}
