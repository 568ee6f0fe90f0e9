/**
 * Workload identity on with the pool of the cluster's own project (GKE accepts no other), and every node
 * pool on the GKE metadata server — without it, in-cluster agents such as the MCS importer keep the node's
 * identity. The fleet's pool is the membership's business, never the cluster's.
 */
import type { ClusterInfo, NodePoolInfo } from '../cloud/ports';
import type { ClusterRef } from '../events/types';
import { type Decision, type ReconcileContext, wrote } from './context';
import {
  awaitClusterOperations,
  blocking,
  describeOperations,
  expectedMs,
  nodePoolExpectedMs,
  startWithin,
} from './resume';

/** The only workload pool GKE accepts on a cluster: its own project's. */
export function clusterWorkloadPool(ref: ClusterRef): string {
  return `${ref.project}.svc.id.goog`;
}

/** Workload identity is on with the cluster's own pool. */
export function hasOwnWorkloadPool(cluster: ClusterInfo): boolean {
  return cluster.workloadPool === clusterWorkloadPool(cluster.ref);
}

/** The node pools whose nodes do not run the GKE metadata server. */
export function poolsOffMetadataServer(cluster: ClusterInfo): NodePoolInfo[] {
  return cluster.nodePools.filter((p) => p.metadataMode !== 'GKE_METADATA');
}

export async function ensureWorkloadIdentity(ctx: ReconcileContext, cluster: ClusterInfo): Promise<Decision> {
  const desired = clusterWorkloadPool(cluster.ref);
  const { policy } = ctx.config.workloadIdentity;
  if (hasOwnWorkloadPool(cluster)) return { outcome: 'unchanged', reason: `pool ${desired}` };
  if (cluster.workloadPool) {
    // GKE would not accept another pool; if one shows up, a human looks before anything changes.
    return {
      outcome: 'refused',
      reason: `workload identity uses pool ${cluster.workloadPool}, not ${desired}`,
    };
  }
  if (policy === 'ignore')
    return { outcome: 'skipped', reason: 'workload identity is off and policy is ignore' };
  if (policy === 'require')
    return { outcome: 'refused', reason: 'workload identity is off and policy is require' };
  if (!ctx.dryRun) {
    // An update started by an earlier invocation (or any operation on the cluster) is waited for, not repeated.
    const waited = await awaitClusterOperations(
      ctx,
      cluster.ref,
      blocking(await ctx.cloud.clusters.runningOperations(cluster.ref)),
    );
    // Read again after listing: an operation that ended between the first read and the list left no trace in it.
    const now = await ctx.cloud.clusters.get(cluster.ref);
    if (now?.workloadPool === desired) {
      cluster.workloadPool = desired;
      const after = waited.length > 0 ? ` (after ${describeOperations(waited)})` : ' (set meanwhile)';
      return { outcome: 'unchanged', reason: `pool ${desired}${after}` };
    }
    startWithin('UpdateCluster (workload identity)', expectedMs(ctx, 'clusterUpdate'));
    await ctx.cloud.clusters.setWorkloadPool(cluster.ref, desired);
    cluster.workloadPool = desired;
  }
  return wrote(ctx, 'updated', `enabled workload identity with pool ${desired}`);
}

/** The command an operator runs to move one pool by hand (gcloud's `node-pools update --workload-metadata`). */
export function nodePoolCommand(ref: ClusterRef, pool: string): string {
  return `gcloud container node-pools update ${pool} --cluster=${ref.name} --location=${ref.location} --project=${ref.project} --workload-metadata=GKE_METADATA`;
}

/** True while the cluster is being onboarded: created no longer ago than events are acted on. */
export function isNewCluster(ctx: ReconcileContext, cluster: ClusterInfo, now = Date.now()): boolean {
  const created = cluster.createTime ? Date.parse(cluster.createTime) : Number.NaN;
  return Number.isFinite(created) && now - created <= ctx.config.maxEventAgeSeconds * 1000;
}

/**
 * Moves the node pools that are not on the GKE metadata server, one at a time (GKE runs one operation per pool and
 * each recreates the pool's nodes), or reports them, per `workloadIdentity.nodePools`.
 */
export async function ensureNodePoolMetadata(ctx: ReconcileContext, cluster: ClusterInfo): Promise<Decision> {
  const pending = poolsOffMetadataServer(cluster);
  if (pending.length === 0) {
    return {
      outcome: 'unchanged',
      reason: cluster.nodePools.length
        ? `every node pool runs the GKE metadata server (${names(cluster.nodePools)})`
        : 'no node pools',
    };
  }
  const mode = ctx.config.workloadIdentity.nodePools;
  const migrate = mode === 'migrate' || (mode === 'migrate-new' && isNewCluster(ctx, cluster));
  if (!migrate) {
    const why =
      mode === 'report'
        ? 'policy is report'
        : `the cluster is older than ${ctx.config.maxEventAgeSeconds} s and policy is migrate-new`;
    return {
      outcome: 'refused',
      reason: `node pools not on the GKE metadata server: ${describe(pending)}; ${why}, so their nodes are not recreated automatically; run: ${pending
        .map((p) => nodePoolCommand(cluster.ref, p.name))
        .join(' && ')}`,
    };
  }
  if (ctx.dryRun) {
    return wrote(
      ctx,
      'updated',
      `node pools ${names(pending)} moved to the GKE metadata server (their nodes are recreated)`,
    );
  }
  // One ListOperations for the step: an operation started by an earlier invocation is waited for, not repeated.
  const running = await ctx.cloud.clusters.runningOperations(cluster.ref);
  const moved: NodePoolInfo[] = [];
  const found: string[] = [];
  const gone: string[] = [];
  // Read again after listing: an operation that ended between the first read and the list left no trace in it.
  let fresh = await ctx.cloud.clusters.get(cluster.ref);
  for (const pool of pending) {
    const waited = await awaitClusterOperations(ctx, cluster.ref, blocking(running, pool.name));
    for (const op of waited) running.splice(running.indexOf(op), 1);
    if (waited.length > 0) fresh = await ctx.cloud.clusters.get(cluster.ref);
    // Nothing to move in a cluster or pool deleted meanwhile; the later steps see the cluster gone for themselves.
    if (!fresh) return { outcome: 'skipped', reason: 'the cluster was deleted meanwhile' };
    const now = fresh.nodePools.find((p) => p.name === pool.name);
    if (!now) {
      gone.push(pool.name);
      continue;
    }
    if (now.metadataMode === 'GKE_METADATA') {
      found.push(
        `${pool.name}${waited.length > 0 ? ` (after ${describeOperations(waited)})` : ' (moved meanwhile)'}`,
      );
      continue;
    }
    startWithin(`UpdateNodePool ${pool.name} (recreates its nodes)`, nodePoolExpectedMs(ctx, pool));
    await ctx.cloud.clusters.updateNodePoolMetadata(cluster.ref, pool.name);
    moved.push(pool);
  }
  const notes = [
    found.length > 0 ? `node pools on the GKE metadata server: ${found.join(', ')}` : '',
    gone.length > 0 ? `node pools deleted meanwhile: ${gone.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  if (moved.length === 0) return { outcome: 'unchanged', reason: notes };
  const reason = `node pools ${names(moved)} moved to the GKE metadata server (their nodes are recreated)`;
  return wrote(ctx, 'updated', notes ? `${reason}; ${notes}` : reason);
}

const names = (pools: readonly NodePoolInfo[]) => pools.map((p) => p.name).join(', ');
const describe = (pools: readonly NodePoolInfo[]) =>
  pools.map((p) => `${p.name} (${p.metadataMode})`).join(', ');
