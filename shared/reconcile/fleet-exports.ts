/**
 * A project or fleet request that fans out reconciles the ServiceExports of its member clusters itself, in its own
 * invocation, against one fleet-wide view: each member's exports are listed once, the MCS limits recounted once,
 * each export's health read once per member and namespace. Left to each cluster request, the recount and the health
 * reads would list every member for every cluster — quadratic in the fleet, tens of thousands of Connect gateway
 * calls per reconcile of a 250-cluster fleet. The cluster requests it publishes for these clusters carry
 * `exportsByParent`, and leave the exports alone.
 *
 * Covered: the clusters the request lists that pass admission and are fleet members when it runs. A cluster that
 * joins the fleet during the request (its own cluster request creates the membership) reconciles its own exports.
 */
import type { ClusterInfo, KubePort } from '../cloud/ports';
import { mapSettled } from '../concurrency';
import { describeError } from '../errors';
import type { ClusterRef } from '../events/types';
import type { ActionRecord } from './action';
import { isAdmitted } from './cluster';
import { failed, type ReconcileContext } from './context';
import { reconcileExports } from './exports';
import { kubeFor } from './kube';
import { findMembershipFor, fleetMemberships } from './membership';
import { refString } from './names';

export interface ExportTarget {
  ref: ClusterRef;
  membership: string;
  cluster: ClusterInfo;
}

/**
 * The listed clusters whose exports the request reconciles: admitted, and members of the fleet now. When the
 * memberships cannot be read, none: every cluster request then reconciles its own exports, as without fan-out.
 */
export async function exportTargets(
  ctx: ReconcileContext,
  clusters: readonly ClusterInfo[],
): Promise<ExportTarget[]> {
  let memberships: Awaited<ReturnType<typeof fleetMemberships>>;
  try {
    memberships = await fleetMemberships(ctx);
  } catch (error) {
    ctx.log.warn('could not list the fleet memberships; each cluster request reconciles its own exports', {
      error: describeError(error),
    });
    return [];
  }
  const targets: ExportTarget[] = [];
  for (const cluster of clusters) {
    const membership = findMembershipFor(memberships, cluster.ref);
    if (membership && (await isAdmitted(ctx, cluster)))
      targets.push({ ref: cluster.ref, membership: membership.name, cluster });
  }
  return targets;
}

/**
 * Reconciles the exports of every target, with the invocation's bounded concurrency; one cluster's failure never
 * stops the others. A failure here does not bring the request back: its redelivery would publish every cluster
 * request again. The next fleet request (the periodic one) reconciles these exports again, and a Service's own
 * audit event is retried on its own.
 */
export async function reconcileFleetExports(
  ctx: ReconcileContext,
  targets: readonly ExportTarget[],
): Promise<ActionRecord[]> {
  const results = await mapSettled(targets, ctx.config.concurrency, async (target) => {
    const name = refString(target.ref);
    let kube: KubePort;
    try {
      kube = await kubeFor(ctx, target);
    } catch (error) {
      return [await failed(ctx, 'kube-connect', name, error)];
    }
    return reconcileExports(ctx, kube, target.ref);
  });
  // Each target's failures are records already: the callback above never rejects.
  const records = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  return records.map((r) => (r.outcome === 'failed' ? { ...r, retryable: false } : r));
}
