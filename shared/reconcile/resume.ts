/**
 * Resumable writes. GKE, GKE Hub and Compute writes are long-running operations that can outlive the invocation
 * that started them (a node-pool migration takes minutes per batch of nodes; an invocation has 480 s). So before a
 * step writes, it looks for an operation already running on its target — started by an earlier invocation, or by
 * GKE itself — and waits for it within the time left instead of starting a second one (which GKE would refuse with
 * "Cluster is running incompatible operation …"). An operation that does not end in time ends the step transient,
 * naming it, and the redelivered event finds it again. A write whose typical duration is longer than the time left
 * is not started: it is left to the redelivery, which starts with a whole invocation (unless no invocation is long
 * enough for it: then it starts at once).
 */
import type { NetworkOperation, NodePoolInfo, RunningOperation } from '../cloud/ports';
import { ANSWER_RESERVE_MS, invocationBudgetMs, timeLeftMs } from '../deadline';
import { type DurationKind, GCP_DURATIONS, nodePoolBatches } from '../durations';
import { TransientError } from '../errors';
import type { ClusterRef } from '../events/types';
import type { ReconcileContext } from './context';

/** A wait in an adapter that ran out (shared/cloud/operations: `waitFor`). */
const isWaitTimeout = (error: unknown) =>
  error instanceof TransientError && error.reason === 'operation-timeout';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** The typical duration of `kind` in this deployment's time (config `timeScale`). */
export function expectedMs(ctx: ReconcileContext, kind: DurationKind, times = 1): number {
  return GCP_DURATIONS[kind].typicalMs * times * ctx.config.timeScale;
}

/** What recreating a node pool's nodes typically takes: one surge batch after another. */
export function nodePoolExpectedMs(ctx: ReconcileContext, pool: NodePoolInfo): number {
  const nodes = (pool.nodeCount ?? 1) * (pool.zones ?? 1);
  return expectedMs(
    ctx,
    'nodePoolUpdatePerBatch',
    nodePoolBatches(nodes, pool.maxSurge, pool.maxUnavailable),
  );
}

/**
 * Throws (transient) instead of starting `what` when its typical duration is longer than the time left: a fresh
 * invocation can see it through, so the redelivery starts it. A write longer than any invocation's work time (a
 * node pool of several batches) is started at once if a twentieth of the invocation is left: no invocation could
 * see it through, and the sooner it starts, the sooner it ends; the next invocation finds it running.
 */
export function startWithin(what: string, typicalMs: number, now = Date.now()): void {
  const left = timeLeftMs(now);
  if (left === undefined) return;
  const work = (invocationBudgetMs() ?? left + ANSWER_RESERVE_MS) - ANSWER_RESERVE_MS;
  const needed = typicalMs >= work ? work / 20 : typicalMs;
  if (left < needed) {
    throw new TransientError(
      `${what} not started: it typically takes ${seconds(typicalMs)} and ${seconds(Math.max(0, left))} of this invocation are left; left to the redelivery`,
      'not-started',
    );
  }
}

/** The operation is still running at the end of the wait: the step ends transient, naming it. */
function stillRunning(
  target: string,
  op: RunningOperation | NetworkOperation,
  error: unknown,
): TransientError {
  const since = op.startTime ? `, started ${op.startTime}` : '';
  return new TransientError(
    `${op.type} ${op.name} on ${target} is still running${since}; waiting for it is left to the redelivery`,
    'operation-running',
    { cause: error },
  );
}

/**
 * The GKE operations that block a write: any on the cluster for a cluster-level change, or the cluster-level ones
 * and the pool's own for a node-pool change (GKE's concurrent-operations rule: one cluster-level operation, or one
 * per node pool, at a time).
 */
export function blocking(running: readonly RunningOperation[], nodePool?: string): RunningOperation[] {
  return running.filter((op) => nodePool === undefined || !op.nodePool || op.nodePool === nodePool);
}

/**
 * Waits for each of `ops` on the cluster; returns them. An operation that ended in an error has still ended (it may
 * be GKE's own, or an earlier attempt of ours whose outcome the caller re-reads), so only a wait that runs out
 * stops the step.
 */
export async function awaitClusterOperations(
  ctx: ReconcileContext,
  ref: ClusterRef,
  ops: readonly RunningOperation[],
): Promise<RunningOperation[]> {
  const target = `cluster ${ref.project}/${ref.location}/${ref.name}`;
  for (const op of ops) {
    try {
      await ctx.cloud.clusters.waitOperation(ref, op.name);
    } catch (error) {
      if (isWaitTimeout(error)) throw stillRunning(target, op, error);
      if (error instanceof TransientError) throw error;
      ctx.log.info('a running operation ended in an error; the step reads the result', {
        operation: op.name,
        type: op.type,
      });
    }
  }
  return [...ops];
}

/** Like awaitClusterOperations, for the peering operations of a VPC. */
export async function awaitNetworkOperations(
  ctx: ReconcileContext,
  project: string,
  network: string,
  ops: readonly NetworkOperation[],
): Promise<void> {
  for (const op of ops) {
    try {
      await ctx.cloud.peering.waitOperation(project, op.name);
    } catch (error) {
      if (isWaitTimeout(error)) throw stillRunning(`network ${project}/${network}`, op, error);
      if (error instanceof TransientError) throw error;
      ctx.log.info('a running peering operation ended in an error; the step reads the result', {
        operation: op.name,
        type: op.type,
      });
    }
  }
}

/** `UPGRADE_NODES operation-1 (node pool np)`, for reasons. */
export const describeOperations = (ops: readonly (RunningOperation | NetworkOperation)[]) =>
  ops
    .map(
      (op) => `${op.type} ${op.name}${'nodePool' in op && op.nodePool ? ` (node pool ${op.nodePool})` : ''}`,
    )
    .join(', ');
