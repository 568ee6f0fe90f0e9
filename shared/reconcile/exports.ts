/**
 * Rows 8–9: every Service labelled for export has a ServiceExport of the same name; no managed ServiceExport
 * outlives its label or its Service; limits are checked before any export is created. Level-based: the Service
 * and the export are always re-read, whatever the audit entry said.
 */
import type { KubePort, KubeService, KubeServiceExport } from '../cloud/ports';
import { mapSettled } from '../concurrency';
import { isAlreadyExists, isNotFound, TransientError } from '../errors';
import type { ClusterRef } from '../events/types';
import { endpointsRefusal, type FleetExports, fleetRefusal, namespaceRefusal } from '../policy/limits';
import type { ActionRecord } from './action';
import { type Decision, type ReconcileContext, runStep, wrote } from './context';
import { checkExportHealth } from './export-health';
import { kubeFor } from './kube';
import { fleetMemberships } from './membership';
import { MANAGED_BY, MANAGED_BY_LABEL, refFromResourceLink, refString } from './names';

export const EXPORT_REFUSED_REASON = 'ExportRefused';

const isManaged = (e: KubeServiceExport | undefined) => e?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;

function wantsExport(ctx: ReconcileContext, service: KubeService | undefined): boolean {
  if (!service || service.metadata.deletionTimestamp) return false;
  return service.metadata.labels?.[ctx.config.export.label] === ctx.config.export.value;
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

/** The whole cluster: labelled Services get exports, managed exports without a labelled Service go. */
export async function reconcileExports(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
): Promise<ActionRecord[]> {
  const selector = `${ctx.config.export.label}=${ctx.config.export.value}`;
  const [services, exports] = await Promise.all([kube.listServices(selector), kube.listServiceExports()]);
  const key = (ns: string | undefined, name: string) => `${ns}/${name}`;
  const exportByKey = new Map(exports.map((e) => [key(e.metadata.namespace, e.metadata.name), e]));
  const wanted = new Set<string>();
  const records: ActionRecord[] = [];
  for (const service of services) {
    const { namespace = 'default', name } = service.metadata;
    wanted.add(key(namespace, name));
    records.push(
      await runStep(ctx, 'exports', `${refString(ref)}/${namespace}/${name}`, () =>
        converge(ctx, kube, ref, namespace, name, service, exportByKey.get(key(namespace, name))),
      ),
    );
  }
  for (const existing of exports) {
    const { namespace = 'default', name } = existing.metadata;
    if (wanted.has(key(namespace, name)) || !isManaged(existing)) continue;
    records.push(
      await runStep(ctx, 'exports', `${refString(ref)}/${namespace}/${name}`, () =>
        converge(ctx, kube, ref, namespace, name, undefined, existing),
      ),
    );
  }
  return records;
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
  if (!wantsExport(ctx, service)) {
    if (!existing)
      return { outcome: 'unchanged', reason: service ? 'not labelled for export' : 'no Service, no export' };
    // Only what Spokefleet created is ever deleted.
    if (!isManaged(existing)) return { outcome: 'unchanged', reason: 'user-owned ServiceExport left alone' };
    if (ctx.dryRun) return wrote(ctx, 'deleted', 'ServiceExport');
    try {
      await kube.deleteServiceExport(namespace, name);
    } catch (error) {
      if (isNotFound(error)) return { outcome: 'unchanged', reason: 'ServiceExport already gone' };
      throw error;
    }
    forgetExport(ctx, ref, namespace, name);
    return wrote(ctx, 'deleted', service ? 'Service no longer labelled for export' : 'Service deleted');
  }
  if (existing) {
    await checkExportHealth(ctx, kube, ref, namespace, name, service, existing);
    return {
      outcome: 'unchanged',
      reason: isManaged(existing) ? 'exported' : 'exported by a user-owned ServiceExport',
    };
  }
  const refusal = await limitRefusal(ctx, kube, ref, namespace, name);
  if (refusal) {
    if (!ctx.dryRun && service) {
      await kube.recordEvent({
        namespace,
        involved: { kind: 'Service', apiVersion: 'v1', name, uid: service.metadata.uid },
        reason: EXPORT_REFUSED_REASON,
        message: `Spokefleet did not export this Service: ${refusal}`,
        type: 'Warning',
      });
    }
    return { outcome: 'refused', reason: refusal };
  }
  if (ctx.dryRun) return wrote(ctx, 'created', 'ServiceExport');
  try {
    await kube.createServiceExport(namespace, name, { [MANAGED_BY_LABEL]: MANAGED_BY });
  } catch (error) {
    if (isAlreadyExists(error)) return { outcome: 'unchanged', reason: 'exported (created concurrently)' };
    forgetExport(ctx, ref, namespace, name);
    throw error;
  }
  // Another invocation (another function instance, another cluster) may have passed the same cross-project check
  // at the same time. Check again, now that this export exists, against a fresh view of the other projects'
  // clusters (members read again too: a cluster onboarded concurrently may have joined since). Whoever sees a
  // conflict after creating withdraws its own export, so at most one project keeps it (the later of two always
  // sees the earlier), and retries through redelivery, which then refuses or wins. With one allowed project there
  // is no other project to race with. (The per-Service and per-fleet counts are not re-checked: a race can exceed
  // them by the racers' number.)
  if (ctx.config.limits.refuseCrossProjectDuplicates && ctx.config.projects.length > 1) {
    let late: string | undefined;
    try {
      late = fleetRefusal(ctx.config.limits, {
        namespace,
        name,
        cluster: refString(ref),
        fleet: await readFleetExports(ctx, (member) => member.project !== ref.project, true),
      });
    } catch (error) {
      // Unverified: withdraw it, so the redelivered event checks again from the start.
      await withdraw(ctx, kube, ref, namespace, name).catch(() => undefined);
      throw error;
    }
    if (late) {
      await withdraw(ctx, kube, ref, namespace, name);
      throw new TransientError(
        `${late}: exported concurrently by another invocation, so this export was withdrawn; the event will be retried`,
        'export-race',
      );
    }
  }
  // limitRefusal already counted this export in the invocation's fleet view.
  await checkExportHealth(ctx, kube, ref, namespace, name, service);
  return wrote(ctx, 'created', 'ServiceExport');
}

/** Deletes the managed ServiceExport this invocation has just created. */
async function withdraw(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<void> {
  try {
    await kube.deleteServiceExport(namespace, name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  forgetExport(ctx, ref, namespace, name);
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
  const fleet = await fleetExports(ctx);
  const refusal = fleetRefusal(limits, { namespace, name, cluster: refString(ref), fleet });
  // Reserved before any await, so the concurrent steps of this invocation (a fleet reconcile) count it.
  if (!refusal) addTo(fleet, `${namespace}/${name}`, refString(ref));
  return refusal;
}

/**
 * Who exports what, across the member clusters in allowed projects: one list of ServiceExports per cluster, read
 * once per invocation and kept up to date by this invocation's own writes. Clusters that are gone are skipped.
 */
export function fleetExports(ctx: ReconcileContext): Promise<FleetExports> {
  return ctx.memo.get('fleet-exports', () => readFleetExports(ctx));
}

/**
 * The fleet-wide view as it is now (not memoised), of the member clusters `include` selects; with `freshMembers`,
 * the member list is read again too (a cluster onboarded concurrently may have joined since it was first read).
 */
async function readFleetExports(
  ctx: ReconcileContext,
  include: (ref: ClusterRef) => boolean = () => true,
  freshMembers = false,
): Promise<FleetExports> {
  const view: FleetExports = new Map();
  const memberships = freshMembers
    ? await ctx.cloud.fleet.listMemberships(ctx.config.fleetProject)
    : await fleetMemberships(ctx);
  const members = memberships.flatMap((m) => {
    const ref = refFromResourceLink(m.resourceLink);
    return ref && ctx.config.projects.includes(ref.project) && include(ref)
      ? [{ ref, membership: m.name }]
      : [];
  });
  const results = await mapSettled(members, ctx.config.concurrency, async (target) => {
    const kube = await kubeFor(ctx, target);
    for (const e of await kube.listServiceExports()) {
      addTo(view, `${e.metadata.namespace}/${e.metadata.name}`, refString(target.ref));
    }
  });
  for (const result of results) {
    if (result.status === 'rejected' && !isNotFound(result.reason)) throw result.reason;
  }
  return view;
}

function addTo(view: FleetExports, key: string, cluster: string): void {
  const set = view.get(key) ?? new Set<string>();
  set.add(cluster);
  view.set(key, set);
}

function forgetExport(ctx: ReconcileContext, ref: ClusterRef, namespace: string, name: string): void {
  void ctx.memo
    .peek<FleetExports>('fleet-exports')
    ?.then((view) => view.get(`${namespace}/${name}`)?.delete(refString(ref)));
}
