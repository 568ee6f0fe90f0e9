/**
 * Rows 8–9: every Service labelled for export has a ServiceExport of the same name; no managed ServiceExport
 * outlives its label or its Service; the MCS limits hold across the fleet. Level-based: the Service and the export
 * are always re-read, whatever the audit entry said.
 *
 * Each Service is decided by a pure plan (`planExport`) and then applied. The limits are checked before a create
 * against the invocation's fleet view, and again after it against a fresh read, since invocations running at the
 * same time cannot see each other's reservations; the periodic reconcile recounts and withdraws what is beyond.
 */
import type { KubePort, KubeService, KubeServiceExport } from '../cloud/ports';
import { mapSettled } from '../concurrency';
import type { Config } from '../config';
import { describeError, isAlreadyExists, isNotFound, TransientError } from '../errors';
import type { ClusterRef } from '../events/types';
import {
  endpointsRefusal,
  exportKey,
  exportsBeyondLimits,
  type FleetExport,
  FleetView,
  fleetRefusal,
  namespaceRefusal,
} from '../policy/limits';
import type { ActionRecord } from './action';
import { type Decision, failed, type ReconcileContext, runStep, wrote } from './context';
import { checkExportHealth } from './export-health';
import { kubeFor } from './kube';
import { fleetMemberships } from './membership';
import { MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL, refFromResourceLink, refString } from './names';

export const EXPORT_REFUSED_REASON = 'ExportRefused';

/** The labels on every ServiceExport this deployment creates. */
export function managedExportLabels(config: Config): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: config.owner };
}

/** Created by this deployment: the only ServiceExports it ever deletes. */
export function ownsExport(config: Config, e: KubeServiceExport): boolean {
  const labels = e.metadata.labels;
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY && labels[OWNER_LABEL] === config.owner;
}

function wantsExport(config: Config, service: KubeService | undefined): boolean {
  if (!service || service.metadata.deletionTimestamp) return false;
  return service.metadata.labels?.[config.export.label] === config.export.value;
}

/** What to do about one Service's export, from the Service and the export alone. */
export type ExportPlan =
  | { action: 'none'; reason: string }
  | { action: 'delete'; reason: string }
  | { action: 'create' };

export function planExport(
  config: Config,
  service: KubeService | undefined,
  existing: KubeServiceExport | undefined,
): ExportPlan {
  if (!wantsExport(config, service)) {
    if (!existing)
      return { action: 'none', reason: service ? 'not labelled for export' : 'no Service, no export' };
    if (!ownsExport(config, existing)) return { action: 'none', reason: notOursReason(existing) };
    return {
      action: 'delete',
      reason: service ? 'Service no longer labelled for export' : 'Service deleted',
    };
  }
  if (existing) {
    return {
      action: 'none',
      reason: ownsExport(config, existing) ? 'exported' : `exported (${notOursReason(existing)})`,
    };
  }
  return { action: 'create' };
}

function notOursReason(existing: KubeServiceExport): string {
  const labels = existing.metadata.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY) return 'user-owned ServiceExport left alone';
  const owner = labels[OWNER_LABEL];
  return owner
    ? `ServiceExport of another Spokefleet deployment (owner ${owner}) left alone`
    : `managed ServiceExport without an ${OWNER_LABEL} label left alone`;
}

/** One Service, as an audit event asks: re-read it and its export, then converge. */
export function syncServiceExport(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<ActionRecord> {
  return runStep(ctx, 'exports', `${refString(ref)}/${namespace}/${name}`, async () => {
    const [service, existing] = await Promise.all([
      kube.getService(namespace, name),
      kube.getServiceExport(namespace, name),
    ]);
    return converge(ctx, kube, ref, namespace, name, service, existing);
  });
}

/**
 * The whole cluster: this cluster's exports beyond the fleet's limits are withdrawn first (their Services are
 * then refused, with the Event), labelled Services get exports, managed exports without a labelled Service go.
 * A failure to list the Services or ServiceExports, or to read the fleet for the recount, is the cluster's one
 * `exports` record; the per-Service records cover everything else.
 */
export async function reconcileExports(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
): Promise<ActionRecord[]> {
  try {
    return await reconcileClusterExports(ctx, kube, ref);
  } catch (error) {
    return [await failed(ctx, 'exports', refString(ref), error)];
  }
}

async function reconcileClusterExports(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
): Promise<ActionRecord[]> {
  const selector = `${ctx.config.export.label}=${ctx.config.export.value}`;
  const [services, exports] = await Promise.all([
    kube.listServices(selector),
    clusterExports(ctx, kube, refString(ref)),
  ]);
  const exportByKey = new Map(exports.map((e) => [exportKey(metaOf(e)), e]));
  const records: ActionRecord[] = [];
  const cluster = refString(ref);
  // Only exports whose Service still wants one: the others are deleted below anyway.
  const labelled = new Set(services.map((s) => exportKey(metaOf(s))));
  // The fleet view is read only when this cluster has exports the recount could withdraw.
  const withdrawable = exports.some((e) => ownsExport(ctx.config, e) && labelled.has(exportKey(metaOf(e))));
  const recount = withdrawable
    ? await withdrawBeyondLimits(ctx, kube, ref, (e) => e.cluster === cluster && labelled.has(exportKey(e)))
    : { records: [], withdrawn: new Set<string>() };
  records.push(...recount.records);
  for (const key of recount.withdrawn) exportByKey.delete(key);
  const wanted = new Set<string>();
  for (const service of services) {
    const { namespace, name } = metaOf(service);
    wanted.add(exportKey({ namespace, name }));
    records.push(
      await runStep(ctx, 'exports', `${cluster}/${namespace}/${name}`, () =>
        converge(ctx, kube, ref, namespace, name, service, exportByKey.get(exportKey({ namespace, name }))),
      ),
    );
  }
  for (const existing of exports) {
    const { namespace, name } = metaOf(existing);
    if (wanted.has(exportKey({ namespace, name })) || !ownsExport(ctx.config, existing)) continue;
    // Only labelled Services were listed: whether this one was deleted or unlabelled is not known here.
    records.push(
      await runStep(ctx, 'exports', `${cluster}/${namespace}/${name}`, () =>
        deleteExport(ctx, kube, ref, namespace, name, 'no Service labelled for export'),
      ),
    );
  }
  return records;
}

const metaOf = (o: { metadata: { namespace?: string; name: string } }) => ({
  namespace: o.metadata.namespace ?? 'default',
  name: o.metadata.name,
});

/**
 * The recount: exports of this deployment, among those `select` picks, that are beyond a limit in the fleet's
 * deterministic order are withdrawn. Exports Spokefleet does not own are counted but never touched.
 */
async function withdrawBeyondLimits(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  select: (e: FleetExport) => boolean,
): Promise<{ records: ActionRecord[]; withdrawn: Set<string> }> {
  const withdrawn = new Set<string>();
  let view: FleetView;
  try {
    view = await fleetView(ctx);
  } catch (error) {
    // Nothing is known to be beyond: the Services are still converged (their creates fail the same way).
    const record = await failed(ctx, 'exports', `${refString(ref)} (limits recount)`, error);
    return { records: [record], withdrawn };
  }
  const records: ActionRecord[] = [];
  for (const [entry, reason] of exportsBeyondLimits(ctx.config.limits, view.all())) {
    if (!entry.owned || !entry.createdAt || !select(entry)) continue;
    const { namespace, name } = entry;
    records.push(
      await runStep(ctx, 'exports', `${refString(ref)}/${namespace}/${name}`, async () => {
        if (!ctx.dryRun) {
          try {
            await kube.deleteServiceExport(namespace, name);
          } catch (error) {
            if (!isNotFound(error)) throw error;
          }
        }
        view.release(namespace, name, entry.cluster);
        withdrawn.add(exportKey(entry));
        return wrote(ctx, 'deleted', `withdrawn, beyond the MCS limits: ${reason}`);
      }),
    );
  }
  return { records, withdrawn };
}

async function converge(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
  service: KubeService | undefined,
  existing: KubeServiceExport | undefined,
): Promise<Decision> {
  const plan = planExport(ctx.config, service, existing);
  switch (plan.action) {
    case 'none':
      // An export that stands: is it imported where it should be, and does GKE report a problem?
      if (existing && wantsExport(ctx.config, service))
        await checkExportHealth(ctx, kube, ref, namespace, name, service, existing);
      return { outcome: 'unchanged', reason: plan.reason };
    case 'delete':
      return deleteExport(ctx, kube, ref, namespace, name, plan.reason);
    case 'create':
      return createExport(ctx, kube, ref, namespace, name, service);
  }
}

async function deleteExport(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
  reason: string,
): Promise<Decision> {
  if (ctx.dryRun) return wrote(ctx, 'deleted', 'ServiceExport');
  try {
    await kube.deleteServiceExport(namespace, name);
  } catch (error) {
    if (isNotFound(error)) return { outcome: 'unchanged', reason: 'ServiceExport already gone' };
    throw error;
  }
  await releaseFromView(ctx, ref, namespace, name);
  return wrote(ctx, 'deleted', reason);
}

async function createExport(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
  service: KubeService | undefined,
): Promise<Decision> {
  const cluster = refString(ref);
  const refusal = await limitRefusal(ctx, kube, ref, namespace, name);
  if (refusal) {
    if (!ctx.dryRun && service) await recordRefusal(kube, namespace, name, service, refusal);
    return { outcome: 'refused', reason: refusal };
  }
  if (ctx.dryRun) return wrote(ctx, 'created', 'ServiceExport');
  let created: KubeServiceExport;
  try {
    created = await kube.createServiceExport(namespace, name, managedExportLabels(ctx.config));
  } catch (error) {
    if (isAlreadyExists(error)) return { outcome: 'unchanged', reason: 'exported (created concurrently)' };
    await releaseFromView(ctx, ref, namespace, name);
    throw error;
  }
  (await fleetView(ctx)).confirm(namespace, name, cluster, created.metadata.creationTimestamp);
  await verifyWithinLimits(ctx, kube, ref, namespace, name);
  await checkExportHealth(ctx, kube, ref, namespace, name, service);
  return wrote(ctx, 'created', 'ServiceExport');
}

/**
 * Another invocation (another function instance, another cluster) may have passed the same checks at the same
 * time. Now that this export exists, rank the whole fleet again from a fresh read (members read again too: a
 * cluster onboarded concurrently may have joined since). Every export created before this one is in that read;
 * if this one is beyond a limit, it is withdrawn and the event retried (the retry then refuses, with the Event).
 * Exports created in the same second that rank after it may not have seen it (timestamps have second precision):
 * those that are this deployment's and beyond are withdrawn here, with the refusal Event on their Service. Every
 * invocation ranks the same way, so they agree on who stays.
 */
async function verifyWithinLimits(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<void> {
  let own: FleetExport | undefined;
  let beyond: Map<FleetExport, string>;
  try {
    const fresh = await readFleetView(ctx, true);
    own = fresh.get(namespace, name, refString(ref));
    if (!own) {
      throw new TransientError(
        `ServiceExport ${namespace}/${name} was deleted while it was being checked; the event will be retried`,
        'export-race',
      );
    }
    beyond = exportsBeyondLimits(ctx.config.limits, fresh.all());
  } catch (error) {
    // Unverified: withdraw it, so the redelivered event checks again from the start.
    await withdraw(ctx, kube, ref, namespace, name, error);
    throw error;
  }
  const mine = beyond.get(own);
  if (mine) {
    await withdraw(ctx, kube, ref, namespace, name);
    throw new TransientError(
      `${mine}: exported concurrently by another invocation, so this export was withdrawn; the event will be retried`,
      'export-race',
    );
  }
  const second = (t: string | undefined) => t?.slice(0, 19);
  for (const [other, reason] of beyond) {
    if (other.owned && other.createdAt && second(other.createdAt) === second(own.createdAt)) {
      await withdrawTied(ctx, other, reason);
    }
  }
}

/** Withdraws another cluster's export that ranks beyond this one, created in the same second. */
async function withdrawTied(ctx: ReconcileContext, e: FleetExport, reason: string): Promise<void> {
  const ref = refFromString(e.cluster);
  const kube = await kubeFor(ctx, { ref, membership: e.membership });
  try {
    await kube.deleteServiceExport(e.namespace, e.name);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  ctx.log.warn(`ServiceExport ${e.cluster}/${exportKey(e)} withdrawn: ${reason}`, {
    step: 'exports',
    target: `${e.cluster}/${exportKey(e)}`,
    reason,
  });
  const service = await kube.getService(e.namespace, e.name);
  if (service && wantsExport(ctx.config, service))
    await recordRefusal(kube, e.namespace, e.name, service, reason);
}

const refFromString = (cluster: string): ClusterRef => {
  const [project, location, name] = cluster.split('/');
  return { project, location, name };
};

/**
 * Deletes the managed ServiceExport this invocation has just created. A withdraw that fails leaves an unverified
 * export behind: said in one ERROR line and failed transiently (the periodic recount withdraws it if it is beyond).
 */
async function withdraw(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
  why?: unknown,
): Promise<void> {
  try {
    await kube.deleteServiceExport(namespace, name);
  } catch (error) {
    if (!isNotFound(error)) {
      const message = `could not withdraw ServiceExport ${refString(ref)}/${namespace}/${name}, created but not verified within the MCS limits`;
      ctx.log.error(message, {
        error: describeError(error),
        ...(why === undefined ? {} : { why: describeError(why) }),
      });
      throw new TransientError(`${message}: ${describeError(error)}`, 'export-withdraw-failed', {
        cause: error,
      });
    }
  }
  await releaseFromView(ctx, ref, namespace, name);
}

async function recordRefusal(
  kube: KubePort,
  namespace: string,
  name: string,
  service: KubeService,
  refusal: string,
): Promise<void> {
  await kube.recordEvent({
    namespace,
    involved: { kind: 'Service', apiVersion: 'v1', name, uid: service.metadata.uid },
    reason: EXPORT_REFUSED_REASON,
    message: `Spokefleet did not export this Service: ${refusal}`,
    type: 'Warning',
  });
}

/** Cheapest checks first: the namespace needs no read, endpoints one, the fleet view one list per member cluster. */
async function limitRefusal(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const { limits } = ctx.config;
  const byNamespace = namespaceRefusal(limits, namespace);
  if (byNamespace) return byNamespace;
  const byEndpoints = endpointsRefusal(limits, await kube.countReadyEndpoints(namespace, name));
  if (byEndpoints) return byEndpoints;
  const fleet = await fleetView(ctx);
  // From here to the reservation nothing awaits, so the concurrent steps of this invocation (a fleet reconcile)
  // each see the others' reservations.
  const cluster = refString(ref);
  const refusal = fleetRefusal(limits, { namespace, name, cluster, fleet });
  if (!refusal) fleet.reserve(namespace, name, cluster);
  return refusal;
}

/**
 * Who exports what across the member clusters in allowed projects, read once per invocation and kept up to date
 * by this invocation's own writes (reserve, confirm, release).
 */
export function fleetView(ctx: ReconcileContext): Promise<FleetView> {
  return ctx.memo.get('fleet-view', () => readFleetView(ctx));
}

async function releaseFromView(ctx: ReconcileContext, ref: ClusterRef, namespace: string, name: string) {
  // The cluster's list, if held, still has it: a fleet view built later in this invocation lists the cluster again.
  ctx.memo.forget(`serviceexports:${refString(ref)}`);
  const view = await ctx.memo.peek<FleetView>('fleet-view')?.catch(() => undefined);
  view?.release(namespace, name, refString(ref));
}

/**
 * A cluster's ServiceExports, listed once per invocation: the cluster's own reconcile and the fleet view (which
 * lists every member) share the list. The fresh read after a create lists again.
 */
function clusterExports(
  ctx: ReconcileContext,
  kube: KubePort,
  cluster: string,
): Promise<KubeServiceExport[]> {
  return ctx.memo.get(`serviceexports:${cluster}`, () => kube.listServiceExports());
}

/**
 * The fleet-wide view. Each member's list is the one the invocation already holds, unless `fresh`: then the member
 * list and every member's exports are read again (a cluster onboarded concurrently may have joined since, another
 * invocation may have exported since). Clusters that are gone are skipped.
 * A member whose exports cannot be read fails the read transiently, naming it: its exports may be the ones that
 * reach a limit, so nothing is created until it can be read (nothing else waits for it).
 */
async function readFleetView(ctx: ReconcileContext, fresh = false): Promise<FleetView> {
  const memberships = fresh
    ? await ctx.cloud.fleet.listMemberships(ctx.config.fleetProject)
    : await fleetMemberships(ctx);
  const members = memberships.flatMap((m) => {
    const ref = refFromResourceLink(m.resourceLink);
    return ref && ctx.config.projects.includes(ref.project) ? [{ ref, membership: m.name }] : [];
  });
  const results = await mapSettled(members, ctx.config.concurrency, async (target) => {
    const kube = await kubeFor(ctx, target);
    const cluster = refString(target.ref);
    const exports = fresh ? await kube.listServiceExports() : await clusterExports(ctx, kube, cluster);
    return exports.map(
      (e): FleetExport => ({
        ...metaOf(e),
        cluster,
        membership: target.membership,
        createdAt: e.metadata.creationTimestamp,
        owned: ownsExport(ctx.config, e),
      }),
    );
  });
  const found: FleetExport[] = [];
  const unreadable: Array<{ cluster: string; error: unknown }> = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') found.push(...result.value);
    else if (!isNotFound(result.reason))
      unreadable.push({ cluster: refString(members[i].ref), error: result.reason });
  });
  if (unreadable.length > 0) {
    throw new TransientError(
      `the MCS limits cannot be checked: could not read the ServiceExports of member cluster${unreadable.length > 1 ? 's' : ''} ${unreadable.map((u) => `${u.cluster} (${describeError(u.error)})`).join(', ')}`,
      'fleet-unreadable',
      { cause: unreadable[0].error },
    );
  }
  return new FleetView(found);
}
