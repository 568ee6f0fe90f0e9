/**
 * The stand-in for GKE's Multi-Cluster Services controller (docs/local-cloud.md lists the source of each rule).
 * Per fleet, over the clusters that serve `net.gke.io` (members of a fleet with the feature):
 * - every ServiceExport gets `status.conditions`: `Initialized` and `Exported` once its Service is read, `Exported`
 *   False when the Service is missing, and `Conflict` True with reason `PortConflict` on every export of the name
 *   when the exporting clusters' Services disagree on ports (the import exposes the union of their ports, the
 *   oldest export winning where two cannot both be kept, as the MCS API's KEP says);
 * - every exported name gets a ServiceImport (`net.gke.io/v1`) in each member cluster that has the namespace, with
 *   those ports, a clusterset IP and the exporting memberships; imports with no export left are deleted.
 * Changes are applied `delayMs` after the last store change (GKE takes minutes; the default here is short).
 */
import { createHash } from 'node:crypto';
import type { KubeObject, KubeStore } from './kube/store';

export interface McsMember {
  /** `P/L/C`, the local cloud's key for the cluster. */
  key: string;
  /** The fleet host project the cluster is a member of. */
  fleet: string;
  /** The membership id, as the ServiceImport's `status.clusters[].cluster` names it. */
  membership: string;
  store: KubeStore;
}

export interface ImportPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime: string;
}

interface Exporter {
  member: McsMember;
  export: KubeObject;
  ports?: ImportPort[];
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The Service's ports as the ServiceImport carries them (name, port, protocol, appProtocol; no targetPort). */
function portsOf(service: KubeObject): ImportPort[] {
  const spec = (service.spec ?? {}) as { ports?: Array<Record<string, unknown>> };
  return (spec.ports ?? [])
    .map((p) => ({
      ...(p.name ? { name: String(p.name) } : {}),
      port: Number(p.port),
      protocol: String(p.protocol ?? 'TCP'),
      ...(p.appProtocol ? { appProtocol: String(p.appProtocol) } : {}),
    }))
    .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

const samePorts = (a: ImportPort[], b: ImportPort[]) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The union of the exporters' ports, oldest first, merged by name, then by protocol and port: a port whose name,
 * or whose protocol and number, an older export already uses is left out (a Service may not have two ports of
 * one name, or of one protocol and number).
 */
function mergePorts(perExporter: ImportPort[][]): ImportPort[] {
  const merged: ImportPort[] = [];
  for (const ports of perExporter) {
    for (const port of ports) {
      const taken = merged.some(
        (m) => (m.name ?? '') === (port.name ?? '') || (m.port === port.port && m.protocol === port.protocol),
      );
      if (!taken) merged.push(port);
    }
  }
  return merged.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/**
 * GKE allocates the clusterset IP; no source says from which range. The stand-in derives one per name from
 * 10.255.0.0/16 (stable, so rewrites are no-ops).
 */
function clustersetIp(namespace: string, name: string): string {
  const digest = createHash('sha256').update(`${namespace}/${name}`).digest();
  return `10.255.${digest[0]}.${digest[1] === 0 ? 1 : digest[1]}`;
}

export class McsController {
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly members: () => McsMember[],
    private readonly delayMs = 50,
  ) {}

  /** Something changed: converge `delayMs` from now (later changes push it back, like a controller's queue). */
  schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync();
    }, this.delayMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One pass over every fleet; writes only what differs, so a pass triggered by its own writes writes nothing. */
  sync(): void {
    const byFleet = new Map<string, McsMember[]>();
    for (const member of this.members()) {
      byFleet.set(member.fleet, [...(byFleet.get(member.fleet) ?? []), member]);
    }
    for (const members of byFleet.values()) this.syncFleet(members);
  }

  private syncFleet(members: McsMember[]): void {
    const exporters = new Map<string, Exporter[]>();
    for (const member of members) {
      for (const exported of member.store.list('serviceexports')) {
        const { namespace = 'default', name = '' } = exported.metadata;
        const service = member.store.get('services', namespace, name);
        const key = `${namespace}/${name}`;
        exporters.set(key, [
          ...(exporters.get(key) ?? []),
          { member, export: exported, ports: service ? portsOf(service) : undefined },
        ]);
      }
    }
    for (const list of exporters.values()) for (const e of list) this.seen(e.export);
    for (const [key, list] of exporters) this.syncName(key, list, members);
    // Imports whose name no member exports any more go.
    for (const member of members) {
      for (const imported of member.store.list('serviceimports')) {
        const key = `${imported.metadata.namespace}/${imported.metadata.name}`;
        if (!exporters.get(key)?.some((e) => e.ports)) {
          member.store.delete('serviceimports', imported.metadata.namespace, imported.metadata.name ?? '');
        }
      }
    }
  }

  private syncName(key: string, exporters: Exporter[], members: McsMember[]): void {
    const [namespace, name] = key.split('/');
    // Oldest export first: creationTimestamp has second precision, so within a second the order this controller
    // first saw them in (resourceVersions are per cluster and say nothing across clusters).
    const ordered = [...exporters].sort(
      (a, b) =>
        String(a.export.metadata.creationTimestamp).localeCompare(
          String(b.export.metadata.creationTimestamp),
        ) || this.seen(a.export) - this.seen(b.export),
    );
    const withService = ordered.filter((e) => e.ports);
    const winner = withService[0];
    const ports = mergePorts(withService.map((e) => e.ports ?? []));
    const disagreeing = winner
      ? withService.filter((e) => !samePorts(e.ports ?? [], winner.ports ?? []))
      : [];
    const conflict =
      disagreeing.length > 0
        ? `Conflicting ports. Exposing the union of the ports, the oldest service export in "${winner?.member.membership}" first. ${disagreeing.length}/${withService.length} clusters disagree: ${disagreeing.map((e) => `"${e.member.membership}"`).join(', ')}.`
        : undefined;

    for (const exporter of ordered) {
      const wanted: Array<Omit<Condition, 'lastTransitionTime'>> = [
        { type: 'Initialized', status: 'True' },
        exporter.ports
          ? { type: 'Exported', status: 'True' }
          : {
              type: 'Exported',
              status: 'False',
              reason: 'NoService',
              message: `Service ${namespace}/${name} not found in this cluster`,
            },
      ];
      if (conflict && exporter.ports) {
        wanted.push({ type: 'Conflict', status: 'True', reason: 'PortConflict', message: conflict });
      }
      this.writeConditions(exporter.member.store, exporter.export, wanted);
    }

    if (!winner) return;
    const clusters = withService.map((e) => ({ cluster: e.member.membership }));
    for (const member of members) {
      // Namespace sameness: the import appears only where the namespace exists.
      if (!member.store.get('namespaces', undefined, namespace)) {
        if (member.store.get('serviceimports', namespace, name)) {
          member.store.delete('serviceimports', namespace, name);
        }
        continue;
      }
      const existing = member.store.get('serviceimports', namespace, name);
      const spec = { ips: [clustersetIp(namespace, name)], type: 'ClusterSetIP', ports };
      const status = { clusters };
      if (
        existing &&
        JSON.stringify(existing.spec) === JSON.stringify(spec) &&
        JSON.stringify(existing.status) === JSON.stringify(status)
      ) {
        continue;
      }
      member.store.put({
        apiVersion: 'net.gke.io/v1',
        kind: 'ServiceImport',
        metadata: { name, namespace, ...(existing ? { uid: existing.metadata.uid } : {}) },
        spec,
        status,
      });
    }
  }

  private seen(exported: KubeObject): number {
    const uid = exported.metadata.uid ?? '';
    if (!this.firstSeen.has(uid)) this.firstSeen.set(uid, this.firstSeen.size);
    return this.firstSeen.get(uid) ?? 0;
  }

  /** Replaces the export's conditions, keeping each unchanged condition's lastTransitionTime. */
  private writeConditions(
    store: KubeStore,
    exported: KubeObject,
    wanted: Array<Omit<Condition, 'lastTransitionTime'>>,
  ): void {
    const current = ((exported.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).map(
      ({ lastTransitionTime: _t, ...rest }) => rest,
    );
    if (JSON.stringify(current) === JSON.stringify(wanted)) return;
    const previous = (exported.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const conditions = wanted.map((c) => {
      const before = previous.find((p) => p.type === c.type);
      return {
        ...c,
        lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now(),
      };
    });
    store.put({ ...exported, status: { ...(exported.status as object), conditions } });
  }
}
