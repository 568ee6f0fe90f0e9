/** Row 3: workload identity on, with the fleet's pool. */
import type { ClusterInfo } from '../cloud/ports';
import { type Decision, type ReconcileContext, wrote } from './context';

export function fleetWorkloadPool(fleetProject: string): string {
  return `${fleetProject}.svc.id.goog`;
}

export async function ensureWorkloadIdentity(ctx: ReconcileContext, cluster: ClusterInfo): Promise<Decision> {
  const desired = fleetWorkloadPool(ctx.config.fleetProject);
  const policy = ctx.config.workloadIdentity;
  if (cluster.workloadPool === desired) return { outcome: 'unchanged', reason: `pool ${desired}` };
  if (cluster.workloadPool) {
    // Changing an existing pool would break every workload bound to it: a human decides.
    return {
      outcome: 'refused',
      reason: `workload identity uses pool ${cluster.workloadPool}, not ${desired}`,
    };
  }
  if (policy === 'ignore')
    return { outcome: 'skipped', reason: 'workload identity is off and policy is ignore' };
  if (policy === 'require')
    return { outcome: 'refused', reason: 'workload identity is off and policy is require' };
  if (!ctx.dryRun) await ctx.cloud.clusters.setWorkloadPool(cluster.ref, desired);
  return wrote(ctx, 'updated', `enabled workload identity with pool ${desired}`);
}
