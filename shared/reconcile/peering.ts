/** The control-plane peering exports the VPC's custom routes (the ones Aviatrix programs). */
import type { ClusterInfo } from '../cloud/ports';
import { PermanentError } from '../errors';
import { type Decision, type ReconcileContext, wrote } from './context';
import { awaitNetworkOperations, describeOperations, expectedMs, startWithin } from './resume';

export async function ensurePeeringExport(ctx: ReconcileContext, cluster: ClusterInfo): Promise<Decision> {
  if (!cluster.peeringName) {
    return {
      outcome: 'skipped',
      reason: 'not applicable: no control-plane peering (Private Service Connect or public control plane)',
    };
  }
  const { project, name: network } = cluster.network;
  const current = await ctx.cloud.peering.get(project, network, cluster.peeringName);
  if (!current)
    throw new PermanentError(
      `peering ${cluster.peeringName} not found on ${project}/${network}`,
      'peering-missing',
    );
  const desired = {
    name: current.name,
    exportCustomRoutes: ctx.config.peering.exportCustomRoutes,
    importCustomRoutes: ctx.config.peering.importCustomRoutes ?? current.importCustomRoutes,
  };
  if (
    desired.exportCustomRoutes === current.exportCustomRoutes &&
    desired.importCustomRoutes === current.importCustomRoutes
  ) {
    return {
      outcome: 'unchanged',
      reason: `${current.name}: export=${current.exportCustomRoutes} import=${current.importCustomRoutes}`,
    };
  }
  // Send both flags: updatePeering applies what it is given, and we must not flip the one we were not asked about.
  if (!ctx.dryRun) {
    // Compute takes one peering change per network at a time; one still running (ours from an earlier invocation,
    // or GKE's) is waited for, and the peering read again.
    const running = await ctx.cloud.peering.runningPeeringOperations(project, network);
    await awaitNetworkOperations(ctx, project, network, running);
    // Read again after listing: an operation that ended between the first read and the list left no trace in it.
    const now = await ctx.cloud.peering.get(project, network, current.name);
    if (
      now &&
      now.exportCustomRoutes === desired.exportCustomRoutes &&
      now.importCustomRoutes === desired.importCustomRoutes
    ) {
      const after = running.length > 0 ? `after ${describeOperations(running)}` : 'changed meanwhile';
      return {
        outcome: 'unchanged',
        reason: `${now.name}: export=${now.exportCustomRoutes} import=${now.importCustomRoutes} (${after})`,
      };
    }
    startWithin('networks.updatePeering', expectedMs(ctx, 'peeringUpdate'));
    await ctx.cloud.peering.update(project, network, desired);
  }
  return wrote(
    ctx,
    'updated',
    `${current.name}: export=${desired.exportCustomRoutes} import=${desired.importCustomRoutes}`,
  );
}
