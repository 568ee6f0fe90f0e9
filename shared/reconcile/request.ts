/**
 * A manual or scheduled reconcile request: resolve its scope to clusters, reconcile each with bounded
 * concurrency. One cluster's failure never stops the others.
 */
import { mapSettled } from '../concurrency';
import type { ReconcileRequest } from '../events/request';
import type { ClusterRef } from '../events/types';
import { type ActionRecord, countOutcomes } from './action';
import { reconcileCluster } from './cluster';
import { failed, type ReconcileContext, runStep } from './context';
import { refString } from './names';

export interface RequestResult {
  clusters: number;
  records: ActionRecord[];
  durationMs: number;
}

/**
 * Clusters the request covers; only allowed projects are ever listed. A project whose listing fails is recorded
 * (and, if transient, makes the request come back) without stopping the other projects.
 */
export async function resolveScope(
  ctx: ReconcileContext,
  request: ReconcileRequest,
): Promise<{ refs: ClusterRef[]; records: ActionRecord[] }> {
  if (request.scope === 'cluster') {
    return {
      refs: [{ project: request.project, location: request.location, name: request.cluster }],
      records: [],
    };
  }
  const projects = request.scope === 'project' ? [request.project] : ctx.config.projects;
  const refs: ClusterRef[] = [];
  const records: ActionRecord[] = [];
  for (const project of projects) {
    if (!ctx.config.projects.includes(project)) {
      records.push(
        await runStep(ctx, 'spoke', project, async () => ({
          outcome: 'refused',
          reason: `project ${project} is not in the allowed projects; not listed`,
        })),
      );
      continue;
    }
    try {
      for (const cluster of await ctx.cloud.clusters.list(project)) refs.push(cluster.ref);
    } catch (error) {
      records.push(await failed(ctx, 'spoke', project, error));
    }
  }
  return { refs, records };
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
  const { refs, records } = await resolveScope(ctx, request);
  let done = 0;
  const results = await mapSettled(refs, ctx.config.concurrency, async (ref) => {
    try {
      return await reconcileCluster(ctx, ref);
    } finally {
      hooks.onClusterDone?.(++done, refs.length);
    }
  });
  for (const [i, result] of results.entries()) {
    if (result.status === 'fulfilled') records.push(...result.value);
    else records.push(await failed(ctx, 'spoke', refString(refs[i]), result.reason));
  }
  const durationMs = Math.round(performance.now() - started);
  ctx.log.notice('reconcile request done', {
    scope: request.scope,
    dryRun: ctx.dryRun,
    clusters: refs.length,
    outcomes: countOutcomes(records),
    durationMs,
  });
  return { clusters: refs.length, records, durationMs };
}
