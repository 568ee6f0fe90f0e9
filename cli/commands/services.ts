/**
 * `spokefleet status --services`: every exported Service of the fleet as GKE's MCS controller sees it — which
 * member clusters export it, which import it, its clusterset DNS name, the ServiceExport conditions that are not
 * OK, and the problems a platform team must act on (MCS limits, namespaces missing in members, conflicts).
 * Read-only: per member cluster, one list each of ServiceExports, ServiceImports and labelled Services, and one
 * read per namespace in question.
 */
import type { Cloud, KubeServiceExport, KubeServiceImport } from '../../shared/cloud/ports';
import { mapSettled } from '../../shared/concurrency';
import type { Config } from '../../shared/config';
import { describeError } from '../../shared/errors';
import { Memo, type ReconcileContext } from '../../shared/reconcile/context';
import {
  badConditions,
  clustersetDnsName,
  type ExportCondition,
  fleetMembers,
} from '../../shared/reconcile/export-health';
import { kubeFor } from '../../shared/reconcile/kube';
import { refString } from '../../shared/reconcile/names';
import { type EngineOptions, engineLogger, readOnlyCloud, resolveConfig } from '../engine';
import { type Io, println } from '../io';
import { EXIT_FAILURES, EXIT_OK, formatTable, printJson } from '../output';
import { renderTable } from '../table';

/** What one member cluster holds, as read. */
export interface MemberSnapshot {
  /** `P/L/C` */
  cluster: string;
  exports: KubeServiceExport[];
  imports: KubeServiceImport[];
  /** `namespace/name` of Services labelled for export. */
  labelled: string[];
  /** Namespace → present, for the namespaces of exported Services. */
  namespaces: Record<string, boolean>;
  /** Why the cluster could not be read; the other fields are then empty. */
  error?: string;
}

export interface ServiceStatus {
  /** `namespace/name` */
  service: string;
  dnsName: string;
  exporting: string[];
  importing: string[];
  /** Member clusters read. */
  members: number;
  /** Bad ServiceExport conditions, per exporting cluster. */
  conditions: Array<ExportCondition & { cluster: string }>;
  problems: string[];
}

export interface ClusterServices {
  cluster: string;
  exports: number;
  imports: number;
  problems: number;
}

const conditionText = (c: ExportCondition) =>
  `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;

/** Pure: the per-Service view of the fleet from each member's snapshot. */
export function servicesStatus(
  limits: Config['limits'],
  members: readonly MemberSnapshot[],
): ServiceStatus[] {
  const keys = new Set<string>();
  for (const m of members) {
    for (const e of m.exports) keys.add(`${e.metadata.namespace}/${e.metadata.name}`);
    for (const l of m.labelled) keys.add(l);
  }
  const read = members.filter((m) => m.error === undefined);
  const exportedNames = [...keys].filter((k) =>
    read.some((m) => m.exports.some((e) => `${e.metadata.namespace}/${e.metadata.name}` === k)),
  );
  const rows = [...keys].sort().map((key): ServiceStatus => {
    const [namespace, name] = key.split('/');
    const exporters = read.flatMap((m) =>
      m.exports
        .filter((e) => e.metadata.namespace === namespace && e.metadata.name === name)
        .map((e) => ({ cluster: m.cluster, conditions: e.conditions })),
    );
    const exporting = exporters.map((e) => e.cluster).sort();
    const importing = read
      .filter((m) => m.imports.some((i) => i.metadata.namespace === namespace && i.metadata.name === name))
      .map((m) => m.cluster)
      .sort();
    const conditions = exporters.flatMap((e) =>
      badConditions(e.conditions).map((c) => ({ ...c, cluster: e.cluster })),
    );
    const problems: string[] = [];
    const notExported = read
      .filter((m) => m.labelled.includes(key) && !exporting.includes(m.cluster))
      .map((m) => m.cluster);
    if (notExported.length) {
      problems.push(
        `labelled but not exported in ${notExported.join(', ')} (see the ExportRefused Event on the Service)`,
      );
    }
    if (limits.forbiddenNamespaces.includes(namespace)) {
      problems.push(`MCS does not export from namespace ${namespace}`);
    }
    if (exporting.length > limits.maxClustersPerService) {
      problems.push(
        `exported by ${exporting.length} clusters, the MCS limit is ${limits.maxClustersPerService}`,
      );
    }
    const projects = new Set(exporting.map((c) => c.split('/')[0]));
    if (limits.refuseCrossProjectDuplicates && projects.size > 1) {
      problems.push(`exported from ${projects.size} projects; MCS exports a Service from one project`);
    }
    if (exporting.length > 0) {
      const missing = read.filter((m) => m.namespaces[namespace] === false).map((m) => m.cluster);
      if (missing.length) {
        problems.push(`namespace ${namespace} missing in ${missing.join(', ')} (not imported there)`);
      }
    }
    // One problem per distinct condition, naming every export that carries it (a Conflict is on all of them).
    const byText = new Map<string, string[]>();
    for (const c of conditions)
      byText.set(conditionText(c), [...(byText.get(conditionText(c)) ?? []), c.cluster]);
    for (const [text, clusters] of byText) {
      const [head, ...message] = text.split(': ');
      problems.push(`${head} on ${clusters.join(', ')}${message.length ? `: ${message.join(': ')}` : ''}`);
    }
    return {
      service: key,
      dnsName: clustersetDnsName(namespace, name),
      exporting,
      importing,
      members: read.length,
      conditions,
      problems,
    };
  });
  if (exportedNames.length > limits.maxServicesPerFleet) {
    for (const row of rows) {
      row.problems.push(
        `the fleet exports ${exportedNames.length} distinct Services, the MCS limit is ${limits.maxServicesPerFleet}`,
      );
    }
  }
  const unreadable = members.filter((m) => m.error !== undefined);
  for (const row of rows) {
    for (const m of unreadable) row.problems.push(`could not read ${m.cluster}: ${m.error}`);
  }
  return rows;
}

/** Per member cluster: Services it exports, imports it holds, and rows with problems that involve it. */
export function clusterServices(
  members: readonly MemberSnapshot[],
  rows: readonly ServiceStatus[],
): ClusterServices[] {
  return members.map((m) => ({
    cluster: m.cluster,
    exports: m.exports.length,
    imports: m.imports.length,
    problems: rows.filter((r) => r.problems.some((p) => p.includes(m.cluster))).length,
  }));
}

const SHORT = (cluster: string) => cluster.split('/').slice(2).join('/') || cluster;

export function servicesTable(rows: readonly ServiceStatus[]): string {
  return formatTable(
    rows.map((r) => ({
      service: r.service,
      'exported-from': r.exporting.map(SHORT).join(',') || '-',
      'imported-in': `${r.importing.length}/${r.members}${r.importing.length ? ` ${r.importing.map(SHORT).join(',')}` : ''}`,
      'dns-name': r.exporting.length ? r.dnsName : '-',
      conditions:
        [...new Set(r.conditions.map((c) => `${c.type}=${c.status}(${c.reason ?? ''})`))].join(',') || 'OK',
      problems: r.problems.length ? r.problems.join('; ') : '<none>',
    })),
    ['service', 'exported-from', 'imported-in', 'dns-name', 'conditions', 'problems'],
  );
}

/** Reads every member cluster of the fleet (in allowed projects), bounded by `concurrency`. */
export async function readMembers(ctx: ReconcileContext): Promise<MemberSnapshot[]> {
  const members = await fleetMembers(ctx);
  const selector = `${ctx.config.export.label}=${ctx.config.export.value}`;
  const results = await mapSettled(members, ctx.config.concurrency, async (target) => {
    const kube = await kubeFor(ctx, target);
    const [exports, imports, labelled] = await Promise.all([
      kube.listServiceExports(),
      kube.listServiceImports(),
      kube.listServices(selector),
    ]);
    return { kube, exports, imports, labelled };
  });
  const snapshots: MemberSnapshot[] = members.map((m, i) => {
    const r = results[i];
    const cluster = refString(m.ref);
    if (r.status === 'rejected')
      return {
        cluster,
        exports: [],
        imports: [],
        labelled: [],
        namespaces: {},
        error: describeError(r.reason),
      };
    return {
      cluster,
      exports: r.value.exports,
      imports: r.value.imports,
      labelled: r.value.labelled.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      namespaces: {},
    };
  });
  // Namespace sameness: does every member have the namespace of every exported Service?
  const namespaces = [
    ...new Set(snapshots.flatMap((s) => s.exports.map((e) => e.metadata.namespace ?? 'default'))),
  ];
  await mapSettled(
    snapshots.flatMap((s, i) =>
      s.error === undefined ? namespaces.map((ns) => ({ snapshot: s, i, ns })) : [],
    ),
    ctx.config.concurrency,
    async ({ snapshot, i, ns }) => {
      const r = results[i];
      if (r.status !== 'fulfilled') return;
      snapshot.namespaces[ns] = Boolean(await r.value.kube.getNamespace(ns));
    },
  );
  return snapshots;
}

export interface ServicesArgs extends EngineOptions {
  json: boolean;
}

/** The fleet's exported Services, read as `status --services` reads them. */
async function readServices(args: EngineOptions & { cloud?: Cloud }, io: Io) {
  const { config } = resolveConfig(args, io);
  const log = engineLogger(config, io, args.verbose === true);
  if (config.endpoints) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const cloud =
    args.cloud ??
    (require('../../shared/cloud') as typeof import('../../shared/cloud')).createCloud(config, log);
  const ctx: ReconcileContext = { config, cloud: readOnlyCloud(cloud), log, dryRun: true, memo: new Memo() };
  const members = await readMembers(ctx);
  return { config, members, rows: servicesStatus(config.limits, members) };
}

/** For `spokefleet status`: per member cluster, Services exported, imports held, Services with problems. */
export async function clusterServicesSummary(
  args: EngineOptions & { cloud?: Cloud },
  io: Io,
): Promise<ClusterServices[]> {
  const { members, rows } = await readServices(args, io);
  return clusterServices(members, rows);
}

/** The per-cluster summary under `spokefleet status`: within 120 columns, as the table above it. */
export function clusterServicesTable(rows: readonly ClusterServices[]): string {
  return renderTable(
    rows,
    [
      { header: 'cluster', cell: (r) => r.cluster },
      { header: 'services-exported', cell: (r) => r.exports },
      { header: 'services-imported', cell: (r) => r.imports },
      { header: 'service-problems', cell: (r) => r.problems },
    ],
    { maxWidth: 120, shrink: ['cluster'] },
  );
}

export async function servicesCommand(args: ServicesArgs, io: Io): Promise<number> {
  const started = Date.now();
  const { config, members, rows } = await readServices(args, io);
  const clusters = clusterServices(members, rows);
  const problems = rows.reduce((n, r) => n + r.problems.length, 0);
  if (args.json) {
    printJson(io, { fleet: config.fleetProject, services: rows, clusters, durationMs: Date.now() - started });
  } else {
    println(io.stdout, servicesTable(rows));
    println(io.stdout);
    println(
      io.stdout,
      `fleet ${config.fleetProject}: ${rows.filter((r) => r.exporting.length).length} exported Service(s) across ${members.length} member cluster(s), ${problems} problem(s) (nothing written)`,
    );
  }
  return problems > 0 ? EXIT_FAILURES : EXIT_OK;
}
