/** A Service audit event: the spoke and membership checks for its cluster, then the export of that one Service. */
import type { ClusterRef } from '../events/types';
import { membershipResourceName } from '../membership-name';
import type { ActionRecord } from './action';
import { admitCluster } from './cluster';
import { failed, type ReconcileContext, skipped } from './context';
import { syncServiceExport } from './exports';
import { kubeFor } from './kube';
import { findMembershipFor, fleetMemberships } from './membership';
import { refString } from './names';

export async function reconcileService(
  ctx: ReconcileContext,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<ActionRecord[]> {
  const records: ActionRecord[] = [];
  const target = `${refString(ref)}/${namespace}/${name}`;
  const cluster = await admitCluster(ctx, ref, records);
  if (!cluster) return records;
  let membership = cluster.fleetMembership ? membershipResourceName(cluster.fleetMembership) : undefined;
  if (!membership) {
    // A ServiceExport counts only in a fleet member, whichever way the cluster is reached: exported before the
    // membership exists, the check after the create would find no member and withdraw it, on every redelivery.
    try {
      membership = findMembershipFor(await fleetMemberships(ctx), ref)?.name;
    } catch (error) {
      // Through the Connect gateway the memberships name the address, so reading them is part of connecting.
      const step = ctx.config.kubeAccess === 'connectGateway' ? 'kube-connect' : 'exports';
      records.push(await failed(ctx, step, target, error));
      return records;
    }
    if (!membership) {
      // The cluster reconcile (its CreateCluster event or the periodic one) exports it once onboarded.
      records.push(skipped('exports', target, ctx, 'the cluster is not a fleet member yet'));
      return records;
    }
  }
  let kube: Awaited<ReturnType<typeof kubeFor>>;
  try {
    kube = await kubeFor(ctx, { ref, membership, cluster });
  } catch (error) {
    records.push(
      await failed(ctx, 'kube-connect', target, error),
      skipped('exports', target, ctx, 'the Kubernetes API is unreachable'),
    );
    return records;
  }
  records.push(await syncServiceExport(ctx, kube, ref, namespace, name));
  return records;
}
