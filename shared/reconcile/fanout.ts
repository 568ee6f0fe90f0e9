/**
 * Fan-out: a project or fleet request does not reconcile its clusters itself. It publishes one `cluster` request per
 * cluster to the reconcile topic, so each cluster gets its own delivery, its own invocation (and deadline), and
 * Pub/Sub's retries of its own; the work spreads over function instances. A `cluster` request never fans out.
 *
 * The requests are paced: `fanOut.clustersPerMinute`, spread evenly in one-second slices, so that the invocations
 * they start do not spend an API's per-minute quota at once (docs/decisions.md, "Real time"). If the pace
 * would not fit in the time the invocation has left, it is raised to fit, with a warning: publishing everything
 * late is better than being killed at the timeout with half of it unpublished. Minutes and slices are in the
 * deployment's time (config `timeScale`), like the invocation budget they are measured against.
 *
 * The longest expected chains go out first (`longestChainsFirst`): the fleet request ends when its slowest cluster
 * does, so that cluster should not wait behind the converged ones for its turn in the pace or for a free instance.
 */
import type { ClusterInfo, PublishOutcome, RequestPublisher } from '../cloud/ports';
import { timeLeftMs } from '../deadline';
import { classify, describeError, PermanentError, TransientError } from '../errors';
import type { ReconcileRequest } from '../events/request';
import type { ClusterRef } from '../events/types';
import type { ActionRecord } from './action';
import { failed, type ReconcileContext, runStep } from './context';
import { refString } from './names';
import { expectedMs, nodePoolExpectedMs } from './resume';
import { hasOwnWorkloadPool, poolsOffMetadataServer } from './workload-identity';

/** A slice of the pace: requests falling due within one second go out together (one batch). */
const SLICE_MS = 1_000;
/** Of the time left, the share the pacing may use; the rest is for retries of failed publishes and the answer. */
const PACING_SHARE = 0.8;

export interface FanOutClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: FanOutClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface FanOutResult {
  records: ActionRecord[];
  /** The clusters whose request was published. */
  published: ClusterRef[];
  /** The pace used, in requests per minute. */
  perMinute: number;
}

/**
 * The `cluster` request for one cluster, carrying the parent's dryRun and requestId, and `exportsByParent` when the
 * parent reconciles that cluster's exports itself.
 */
export function clusterRequest(
  ref: ClusterRef,
  parent: { dryRun: boolean; requestId?: string },
  exportsByParent = false,
): ReconcileRequest {
  return {
    scope: 'cluster',
    project: ref.project,
    location: ref.location,
    cluster: ref.name,
    ...(parent.dryRun ? { dryRun: true } : {}),
    ...(parent.requestId ? { requestId: parent.requestId } : {}),
    ...(exportsByParent ? { exportsByParent: true as const } : {}),
  };
}

/**
 * The clusters in the order their requests are published: by the typical duration of the operations their steps
 * will wait for as the cluster was listed — the workload identity update when it lacks its own pool, and each node
 * pool's migration to the GKE metadata server — longest first; equal ones keep the listing order.
 */
export function longestChainsFirst(ctx: ReconcileContext, clusters: readonly ClusterInfo[]): ClusterRef[] {
  const chainMs = (cluster: ClusterInfo) =>
    (hasOwnWorkloadPool(cluster) ? 0 : expectedMs(ctx, 'clusterUpdate')) +
    poolsOffMetadataServer(cluster).reduce((sum, pool) => sum + nodePoolExpectedMs(ctx, pool), 0);
  return clusters
    .map((cluster, index) => ({ ref: cluster.ref, ms: chainMs(cluster), index }))
    .sort((a, b) => b.ms - a.ms || a.index - b.index)
    .map((c) => c.ref);
}

/**
 * The pace that publishes `count` requests within `availableMs`, never slower than `configured` (per `minuteMs`,
 * a minute in the deployment's time).
 */
export function paceFor(
  count: number,
  configured: number,
  availableMs: number | undefined,
  minuteMs = 60_000,
): number {
  if (availableMs === undefined || count === 0) return configured;
  const needed = Math.ceil((count * minuteMs) / Math.max(1, availableMs));
  return Math.max(configured, needed);
}

/**
 * Publishes one cluster request per ref, paced. A request whose publish failed is tried again once at the end;
 * what still fails is one `failed` record (retryable when the cause was transient): the parent request then comes
 * back from Pub/Sub and fans out again — the cluster requests are idempotent, so a repeat costs reads, not writes.
 */
export async function fanOut(
  ctx: ReconcileContext,
  publisher: RequestPublisher,
  request: ReconcileRequest,
  refs: readonly ClusterRef[],
  clock: FanOutClock = realClock,
  exportsByParent: ReadonlySet<string> = new Set(),
): Promise<FanOutResult> {
  const target = request.scope === 'project' ? request.project : request.scope;
  const configured = ctx.config.fanOut.clustersPerMinute;
  const minuteMs = 60_000 * ctx.config.timeScale;
  const sliceMs = SLICE_MS * ctx.config.timeScale;
  const perMinute = paceFor(refs.length, configured, scaled(timeLeftMs(clock.now())), minuteMs);
  if (perMinute > configured) {
    ctx.log.warn('fan-out paced faster than fanOut.clustersPerMinute to finish before the deadline', {
      configured,
      perMinute,
      clusters: refs.length,
    });
  }
  const parent = { dryRun: ctx.dryRun, requestId: request.requestId };
  const requestFor = (ref: ClusterRef) => clusterRequest(ref, parent, exportsByParent.has(refString(ref)));
  const intervalMs = minuteMs / perMinute;
  const started = clock.now();
  const outcomes: PublishOutcome[] = new Array(refs.length);
  let next = 0;
  while (next < refs.length) {
    // Request i is due i × interval after the start; a slice publishes what falls due within the next second, in
    // one call (the library batches it into one Publish RPC), and slices are at least a second apart.
    const sliceStart = clock.now();
    const dueInSlice = Math.ceil((sliceStart - started + sliceMs) / intervalMs);
    const end = Math.min(refs.length, Math.max(next + 1, dueInSlice));
    const results = await publisher.publish(refs.slice(next, end).map(requestFor));
    results.forEach((outcome, i) => {
      outcomes[next + i] = outcome;
    });
    next = end;
    if (next < refs.length) {
      const wakeAt = Math.max(started + next * intervalMs - sliceMs, sliceStart + sliceMs);
      const wait = wakeAt - clock.now();
      if (wait > 0) await clock.sleep(wait);
    }
  }

  // One more try for what failed, before giving the whole request back to Pub/Sub.
  const retry = outcomes.flatMap((outcome, i) => ('error' in outcome ? [i] : []));
  if (retry.length > 0) {
    const again = await publisher.publish(retry.map((i) => requestFor(refs[i])));
    again.forEach((outcome, j) => {
      outcomes[retry[j]] = outcome;
    });
  }

  const published = refs.filter((_, i) => 'messageId' in outcomes[i]);
  const errors = outcomes.flatMap((outcome) => ('error' in outcome ? [outcome.error] : []));
  const paced =
    perMinute === configured ? `${perMinute}/min` : `${perMinute}/min (raised from ${configured}/min)`;
  if (errors.length === 0) {
    const record = await runStep(ctx, 'fan-out', target, async () => ({
      outcome: 'created',
      reason: `published ${published.length} cluster request(s) to ${publisher.topic}, paced at ${paced}`,
    }));
    return { records: [record], published, perMinute };
  }
  // Transient if any failure was: the parent request comes back and fans out again.
  const transient = errors.find((e) => classify(e) === 'transient');
  const summary = `published ${published.length} of ${refs.length} cluster request(s) to ${publisher.topic}; ${errors.length} failed: ${describeError(transient ?? errors[0])}`;
  const cause = transient
    ? new TransientError(summary, 'fan-out-partial', { cause: transient })
    : new PermanentError(summary, 'fan-out-refused', { cause: errors[0] });
  return { records: [await failed(ctx, 'fan-out', target, cause)], published, perMinute };
}

/** The time the pacing may use: a share of what is left, so failed publishes can be retried before the deadline. */
function scaled(left: number | undefined): number | undefined {
  return left === undefined ? undefined : Math.max(0, left * PACING_SHARE);
}
