/**
 * Is an exported Service usable across the fleet? GKE's MCS controller answers in two places: conditions on the
 * ServiceExport (Conflict, an export it could not make) and a ServiceImport in each member cluster that has the
 * Service's namespace. This reads both and says it in one line — imported in N of M member clusters, the
 * clusterset DNS name, the conditions that are not OK, the clusters whose namespace is missing — as an Event on the
 * Service when that line changes. The user's Service object itself is never written.
 */
import type { KubePort, KubeServiceExport } from '../cloud/ports';
import { mapSettled } from '../concurrency';
import { describeError, isAlreadyExists } from '../errors';
import type { ClusterRef } from '../events/types';
import type { ReconcileContext } from './context';
import { kubeFor } from './kube';
import { fleetMemberships } from './membership';
import { MANAGED_BY, MANAGED_BY_LABEL, refFromResourceLink, refString } from './names';

/** The Event reason for an export's health (Normal when usable everywhere, Warning otherwise). */
export const EXPORT_HEALTH_REASON = 'ExportHealth';

export type ExportCondition = KubeServiceExport['conditions'][number];

/** One member cluster as seen for one exported Service. */
export interface MemberImport {
  /** `P/L/C` */
  cluster: string;
  /** undefined when the cluster could not be read. */
  hasNamespace?: boolean;
  imported?: boolean;
  /** Why the cluster could not be read. */
  error?: string;
  /** The namespace was created by this reconcile (`namespaces: auto`). */
  namespaceCreated?: boolean;
}

export interface ExportHealth {
  namespace: string;
  name: string;
  /** `SERVICE.NAMESPACE.svc.clusterset.local` */
  dnsName: string;
  importedIn: string[];
  members: string[];
  /** Member clusters without the Service's namespace: MCS imports nothing there. */
  missingNamespace: string[];
  /** Namespaces this reconcile created so the Service can be imported (`namespaces: auto`). */
  createdNamespace: string[];
  unreadable: string[];
  /** Conditions on the export that are not OK (a Conflict that is True; anything else that is not True). */
  badConditions: ExportCondition[];
  /**
   * Nothing needs a human: no bad condition, no missing namespace, every member read. Clusters that have the
   * namespace but no import yet are not a problem: GKE's controller imports within minutes of an export.
   */
  ok: boolean;
}

export function clustersetDnsName(namespace: string, name: string): string {
  return `${name}.${namespace}.svc.clusterset.local`;
}

/** `Conflict` is a problem when True; every other condition GKE writes (Initialized, Exported) when not True. */
export function badConditions(conditions: readonly ExportCondition[]): ExportCondition[] {
  return conditions.filter((c) => (c.type === 'Conflict' ? c.status === 'True' : c.status !== 'True'));
}

/** Pure: the health of one export from its conditions and what each member cluster holds. */
export function assessExport(
  namespace: string,
  name: string,
  conditions: readonly ExportCondition[],
  members: readonly MemberImport[],
): ExportHealth {
  const sorted = [...members].sort((a, b) => a.cluster.localeCompare(b.cluster));
  const importedIn = sorted.filter((m) => m.imported).map((m) => m.cluster);
  const missingNamespace = sorted.filter((m) => m.hasNamespace === false).map((m) => m.cluster);
  const unreadable = sorted.filter((m) => m.error !== undefined).map((m) => m.cluster);
  const bad = badConditions(conditions);
  return {
    namespace,
    name,
    dnsName: clustersetDnsName(namespace, name),
    importedIn,
    members: sorted.map((m) => m.cluster),
    missingNamespace,
    createdNamespace: sorted.filter((m) => m.namespaceCreated).map((m) => m.cluster),
    unreadable,
    badConditions: bad,
    ok: bad.length === 0 && missingNamespace.length === 0 && unreadable.length === 0,
  };
}

const conditionText = (c: ExportCondition) =>
  `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;

/** The one line the Event carries; equal health gives an equal line, so the Event name is stable. */
export function healthMessage(h: ExportHealth): string {
  const parts = [`Imported in ${h.importedIn.length} of ${h.members.length} member clusters as ${h.dnsName}`];
  if (h.missingNamespace.length) {
    parts.push(
      `namespace ${h.namespace} is missing in ${h.missingNamespace.join(', ')} (MCS imports a Service only into clusters that have its namespace)`,
    );
  }
  if (h.createdNamespace.length) {
    parts.push(`namespace ${h.namespace} created in ${h.createdNamespace.join(', ')}`);
  }
  if (h.unreadable.length) parts.push(`could not read ${h.unreadable.join(', ')}`);
  for (const c of h.badConditions) parts.push(`ServiceExport condition ${conditionText(c)}`);
  return parts.join('; ');
}

/** The member clusters of the fleet in allowed projects, with what kubeFor needs to reach them. */
export async function fleetMembers(
  ctx: ReconcileContext,
): Promise<Array<{ ref: ClusterRef; membership: string }>> {
  return (await fleetMemberships(ctx)).flatMap((m) => {
    const ref = refFromResourceLink(m.resourceLink);
    return ref && ctx.config.projects.includes(ref.project) ? [{ ref, membership: m.name }] : [];
  });
}

/** Does the member have the namespace? Read once per invocation and member; created when `namespaces: auto`. */
async function memberNamespace(
  ctx: ReconcileContext,
  kube: KubePort,
  cluster: string,
  namespace: string,
): Promise<{ has: boolean; created: boolean }> {
  const exists = await ctx.memo.get(`namespace:${cluster}:${namespace}`, async () =>
    Boolean(await kube.getNamespace(namespace)),
  );
  if (exists || !ctx.config.autoNamespaces || ctx.dryRun) return { has: exists, created: false };
  return ctx.memo.get(`namespace-created:${cluster}:${namespace}`, async () => {
    try {
      await kube.createNamespace(namespace, { [MANAGED_BY_LABEL]: MANAGED_BY });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return { has: true, created: false };
    }
    ctx.log.info(`created namespace ${namespace} in ${cluster} for an exported Service`, {
      cluster,
      namespace,
    });
    return { has: true, created: true };
  });
}

function memberImports(ctx: ReconcileContext, kube: KubePort, cluster: string) {
  return ctx.memo.get(`serviceimports:${cluster}`, () => kube.listServiceImports());
}

type MemberNamespaceView =
  | {
      cluster: string;
      hasNamespace: boolean;
      namespaceCreated: boolean;
      /** `namespace/name` of the ServiceImports the member holds. */
      imports: Set<string>;
      error?: undefined;
    }
  | { cluster: string; error: string };

/**
 * Every member's view of one namespace, read once per invocation: a cluster reconcile checks each of its exported
 * Services against it without reading (or awaiting) anything per Service and member.
 */
function namespaceView(ctx: ReconcileContext, namespace: string): Promise<MemberNamespaceView[]> {
  return ctx.memo.get(`member-view:${namespace}`, async () => {
    const members = await fleetMembers(ctx);
    const results = await mapSettled(members, ctx.config.concurrency, async (target) => {
      const cluster = refString(target.ref);
      const kube = await kubeFor(ctx, target);
      const ns = await memberNamespace(ctx, kube, cluster, namespace);
      // One list per member and invocation, shared by every namespace.
      const imports = ns.has && !ns.created ? await memberImports(ctx, kube, cluster) : [];
      return {
        cluster,
        hasNamespace: ns.has,
        namespaceCreated: ns.created,
        imports: new Set(imports.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)),
      };
    });
    return results.map((r, i) =>
      r.status === 'fulfilled'
        ? r.value
        : { cluster: refString(members[i].ref), error: describeError(r.reason) },
    );
  });
}

/** Each member cluster's view of one exported Service. */
export async function readMemberImports(
  ctx: ReconcileContext,
  namespace: string,
  name: string,
): Promise<MemberImport[]> {
  return (await namespaceView(ctx, namespace)).map((m) =>
    m.error !== undefined
      ? { cluster: m.cluster, error: m.error }
      : {
          cluster: m.cluster,
          hasNamespace: m.hasNamespace,
          namespaceCreated: m.namespaceCreated,
          imported: m.imports.has(`${namespace}/${name}`),
        },
  );
}

/**
 * After exporting, and on every reconcile of an exported Service: read its health and, when the line changed,
 * record it as an Event on the Service (one Event per distinct line, named from it). Never fails the export step:
 * health is reported, not enforced.
 */
export async function checkExportHealth(
  ctx: ReconcileContext,
  kube: KubePort,
  ref: ClusterRef,
  namespace: string,
  name: string,
  service: { metadata: { uid?: string } } | undefined,
  exported?: KubeServiceExport,
): Promise<ExportHealth | undefined> {
  // plan and status stay cheap; `status --services` reads health by itself.
  if (ctx.dryRun) return undefined;
  try {
    const current = exported ?? (await kube.getServiceExport(namespace, name));
    const members = await readMemberImports(ctx, namespace, name);
    const health = assessExport(namespace, name, current?.conditions ?? [], members);
    // Why members could not be read, for the log line (the Event names them only).
    const error =
      members
        .filter((m) => m.error !== undefined)
        .map((m) => `${m.cluster}: ${m.error}`)
        .join('; ') || undefined;
    if (!service) return health;
    const message = healthMessage(health);
    // The cluster's health Events, listed once per invocation: a reconcile of many exports reads them once.
    const known = await ctx.memo.get(`health-events:${refString(ref)}`, () =>
      kube.listEventNames(EXPORT_HEALTH_REASON),
    );
    const recorded = await kube.recordEvent(
      {
        namespace,
        involved: { kind: 'Service', apiVersion: 'v1', name, uid: service.metadata.uid },
        reason: EXPORT_HEALTH_REASON,
        message,
        type: health.ok ? 'Normal' : 'Warning',
      },
      known,
    );
    const fields = { cluster: refString(ref), service: `${namespace}/${name}`, health, error };
    if (recorded === 'created') {
      if (health.ok) ctx.log.info(`export health: ${message}`, fields);
      else ctx.log.warn(`export health: ${message}`, fields);
    } else if (error) {
      ctx.log.warn(`export health: ${message}`, fields);
    }
    return health;
  } catch (error) {
    ctx.log.warn(`could not check the health of export ${namespace}/${name}`, {
      cluster: refString(ref),
      error: describeError(error),
    });
    return undefined;
  }
}
