/**
 * A manual or scheduled reconcile request: resolve its scope to clusters, then either publish one
 * cluster request per cluster (fan-out, when the context has the reconcile topic) or reconcile each here with
 * bounded concurrency (the CLI's plan and status; functions without `reconcileTopic`). One cluster's failure never
 * stops the others.
 *
 * Every request ends with one summary line (`summary: "reconcile-request"`): `stage: "fanned-out"` with the
 * clusters it published, or `stage: "done"` with its outcomes and whether it will come back (`willRetry`).
 * `spokefleet reconcile --wait` follows a request to its end by these lines (docs/operate.md).
 */
import type { ClusterInfo } from '../cloud/ports';
import { mapSettled } from '../concurrency';
import type { ReconcileRequest } from '../events/request';
import type { ClusterRef } from '../events/types';
import { type ActionRecord, countOutcomes } from './action';
import { reconcileCluster } from './cluster';
import { failed, type ReconcileContext, runStep } from './context';
import { fanOut, longestChainsFirst } from './fanout';
import { exportTargets, reconcileFleetExports } from './fleet-exports';
import { refString } from './names';

export interface RequestResult {
  clusters: number;
  records: ActionRecord[];
  durationMs: number;
  /** Fan-out only: the cluster requests published (`P/L/C`). */
  published?: string[];
}

/** Marks the one summary line of a request, for `spokefleet reconcile --wait` and log queries. */
export const SUMMARY = 'reconcile-request';

/** What a request's summary line names as its target: `P/L/C`, the project, or `fleet`. */
export function requestTarget(request: ReconcileRequest): string {
  if (request.scope === 'cluster')
    return refString({ project: request.project, location: request.location, name: request.cluster });
  return request.scope === 'project' ? request.project : 'fleet';
}

const willRetry = (records: readonly ActionRecord[]) =>
  records.some((r) => r.outcome === 'failed' && r.retryable === true);

/**
 * Clusters the request covers (`clusters`: as listed, empty for a `cluster` request); only allowed projects are ever
 * listed. A project whose listing fails is recorded (and, if transient, makes the request come back) without
 * stopping the other projects.
 */
export async function resolveScope(
  ctx: ReconcileContext,
  request: ReconcileRequest,
): Promise<{ refs: ClusterRef[]; clusters: ClusterInfo[]; records: ActionRecord[] }> {
  if (request.scope === 'cluster') {
    return {
      refs: [{ project: request.project, location: request.location, name: request.cluster }],
      clusters: [],
      records: [],
    };
  }
  const projects = request.scope === 'project' ? [request.project] : ctx.config.projects;
  const clusters: ClusterInfo[] = [];
  const records: ActionRecord[] = [];
  for (const project of projects) {
    if (!ctx.config.projects.includes(project)) {
      records.push(
        await runStep(ctx, 'list-clusters', project, async () => ({
          outcome: 'refused',
          reason: `project ${project} is not in the allowed projects; not listed`,
        })),
      );
      continue;
    }
    try {
      clusters.push(...(await ctx.cloud.clusters.list(project)));
    } catch (error) {
      records.push(await failed(ctx, 'list-clusters', project, error));
    }
  }
  return { refs: clusters.map((c) => c.ref), clusters, records };
}

export interface RequestHooks {
  /** Called as each cluster finishes, for progress displays. */
  onClusterDone?: (done: number, total: number) => void;
}

export async function reconcileRequest(
  ctx: ReconcileContext,
  request: ReconcileRequest,
  hooks: RequestHooks = {},
): Promise<RequestResult> {
  const started = performance.now();
  const { refs, clusters, records } = await resolveScope(ctx, request);
  if (request.scope !== 'cluster' && ctx.publisher) {
    // The member clusters' exports are reconciled here, once against one fleet-wide view, while the cluster requests
    // go out: those requests then leave them alone.
    const targets = await exportTargets(ctx, clusters);
    const [result, exportRecords] = await Promise.all([
      fanOut(
        ctx,
        ctx.publisher,
        request,
        longestChainsFirst(ctx, clusters),
        undefined,
        new Set(targets.map((t) => refString(t.ref))),
      ),
      reconcileFleetExports(ctx, targets),
    ]);
    records.push(...result.records, ...exportRecords);
    const durationMs = Math.round(performance.now() - started);
    const published = result.published.map(refString);
    ctx.log.notice('reconcile request fanned out', {
      summary: SUMMARY,
      stage: 'fanned-out',
      scope: request.scope,
      target: requestTarget(request),
      requestId: request.requestId,
      dryRun: ctx.dryRun,
      clusters: refs.length,
      published,
      exportsReconciledHere: targets.length,
      perMinute: result.perMinute,
      outcomes: countOutcomes(records),
      willRetry: willRetry(records),
      durationMs,
    });
    return { clusters: refs.length, records, durationMs, published };
  }
  let done = 0;
  const results = await mapSettled(refs, ctx.config.concurrency, async (ref) => {
    try {
      return await reconcileCluster(ctx, ref, {
        exportsByParent: request.scope === 'cluster' && request.exportsByParent === true,
      });
    } finally {
      hooks.onClusterDone?.(++done, refs.length);
    }
  });
  for (const [i, result] of results.entries()) {
    if (result.status === 'fulfilled') records.push(...result.value);
    else records.push(await failed(ctx, 'cluster', refString(refs[i]), result.reason));
  }
  const durationMs = Math.round(performance.now() - started);
  ctx.log.notice('reconcile request done', {
    summary: SUMMARY,
    stage: 'done',
    scope: request.scope,
    target: requestTarget(request),
    requestId: request.requestId,
    dryRun: ctx.dryRun,
    clusters: refs.length,
    outcomes: countOutcomes(records),
    problems: records.filter((r) => r.outcome === 'failed' || r.outcome === 'refused').length,
    willRetry: willRetry(records),
    durationMs,
  });
  return { clusters: refs.length, records, durationMs };
}
