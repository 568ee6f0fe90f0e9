/**
 * A manual or scheduled reconcile request (DESIGN §2): resolve its scope to clusters, reconcile each with bounded
 * concurrency. One cluster's failure never stops the others.
 */
import { mapSettled } from '../concurrency';
import type { ReconcileRequest } from '../events/request';
import type { ClusterRef } from '../events/types';
import { type ActionRecord, countOutcomes } from './action';
import { reconcileCluster } from './cluster';
import { failed, type ReconcileContext } from './context';
import { refString } from './names';

export interface RequestResult {
  clusters: number;
  records: ActionRecord[];
  durationMs: number;
}

/** Clusters the request covers; only allowed projects are ever listed. */
export async function resolveScope(ctx: ReconcileContext, request: ReconcileRequest): Promise<ClusterRef[]> {
  if (request.scope === 'cluster') {
    return [{ project: request.project, location: request.location, name: request.cluster }];
  }
  const projects = request.scope === 'project' ? [request.project] : ctx.config.projects;
  const refs: ClusterRef[] = [];
  for (const project of projects) {
    if (!ctx.config.projects.includes(project)) {
      ctx.log.warn('project is not in the allowed projects; not listed', {
        reason: 'project-not-allowed',
        project,
      });
      continue;
    }
    for (const cluster of await ctx.cloud.clusters.list(project)) refs.push(cluster.ref);
  }
  return refs;
}

export async function reconcileRequest(
  ctx: ReconcileContext,
  request: ReconcileRequest,
): Promise<RequestResult> {
  const started = performance.now();
  const refs = await resolveScope(ctx, request);
  const results = await mapSettled(refs, ctx.config.concurrency, (ref) => reconcileCluster(ctx, ref));
  const records: ActionRecord[] = [];
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
