/**
 * `spokefleet status`: one row per cluster — spoke?, VPC-native, workload identity, fleet membership, peering
 * export, ranges advertised by the spoke gateway, seeded namespaces, exported Services, problems. Read-only: it is derived from a dry-run reconcile's
 * action records (what is `unchanged` already holds; what is `planned` does not), so status and the functions
 * can never disagree about what "onboarded" means.
 */
import type { ReconcileRequest } from '../../shared/events/request';
import type { ActionRecord } from '../../shared/reconcile/action';
import { describeScope } from '../args';
import { type DryRunOptions, dryRun } from '../engine';
import { type Io, println } from '../io';
import { duration, exitCodeFor, formatTable, printJson } from '../output';
import { clusterServicesSummary, clusterServicesTable } from './services';

export type Tri = 'yes' | 'no' | 'unknown' | '-';

export interface ClusterStatus {
  /** `PROJECT/LOCATION/NAME` */
  cluster: string;
  spoke: Tri;
  /** Why the cluster is not onboarded (not a spoke, not found, STOPPING), when spoke is `no`. */
  spokeReason?: string;
  vpcNative: Tri;
  workloadIdentity: 'on' | 'off' | 'other-pool' | 'unknown' | '-';
  /** `projects/P/locations/L/memberships/ID`, `none`, `unknown`, or `-` when not checked. */
  membership: string;
  peering: 'yes' | 'no' | 'n/a' | 'unknown' | '-';
  /** Does the spoke gateway advertise the cluster's ranges (`aviatrix.advertise`)? `-` when not configured. */
  advertised: 'yes' | 'no' | 'n/a' | 'unknown' | '-';
  namespaces: { present: string[]; missing: string[]; unknown: string[] };
  /** Managed ServiceExports that exist for a labelled Service. */
  exports: number;
  /** Changes a reconcile would make now (the cluster drifted, or is not onboarded yet). */
  drift: number;
  /** Reasons of refused and failed records: what needs a human. */
  problems: string[];
}

export interface FleetStatus {
  project: string;
  mcsFeature: 'enabled' | 'missing' | 'unknown';
}

const MEMBERSHIP_IN_REASON =
  /(?:fleet member as|membership) (projects\/[^/\s]+\/locations\/[^/\s]+\/memberships\/[^/\s:]+)/;

/** `P/L/C/ns/name` → `P/L/C`. */
function clusterOf(target: string): string {
  return target.split('/').slice(0, 3).join('/');
}

function rest(target: string): string {
  return target.split('/').slice(3).join('/');
}

/** Groups a dry run's records by cluster (mcs-feature is fleet-wide) and reads each row's state from them. */
export function deriveStatus(records: readonly ActionRecord[]): ClusterStatus[] {
  const byCluster = new Map<string, ActionRecord[]>();
  for (const record of records) {
    if (record.step === 'mcs-feature' || record.step === 'offboard') continue;
    const key = clusterOf(record.target);
    const list = byCluster.get(key) ?? [];
    list.push(record);
    byCluster.set(key, list);
  }
  return [...byCluster].map(([cluster, list]) => clusterStatus(cluster, list));
}

function clusterStatus(cluster: string, records: readonly ActionRecord[]): ClusterStatus {
  const find = (step: ActionRecord['step']) => records.find((r) => r.step === step && r.target === cluster);
  const status: ClusterStatus = {
    cluster,
    spoke: 'unknown',
    vpcNative: '-',
    workloadIdentity: '-',
    membership: '-',
    peering: '-',
    advertised: '-',
    namespaces: { present: [], missing: [], unknown: [] },
    exports: 0,
    drift: records.filter((r) => r.outcome === 'planned').length,
    problems: records
      .filter((r) => r.outcome === 'failed' || r.outcome === 'refused')
      .map((r) => `${r.step}${rest(r.target) ? ` ${rest(r.target)}` : ''}: ${r.reason ?? r.outcome}`),
  };

  const spoke = find('spoke');
  if (spoke?.outcome === 'unchanged') status.spoke = 'yes';
  else if (spoke?.outcome === 'skipped' || spoke?.outcome === 'refused') {
    status.spoke = 'no';
    status.spokeReason = spoke.reason;
  }

  const vpcNative = find('vpc-native');
  if (vpcNative)
    status.vpcNative =
      vpcNative.outcome === 'unchanged' ? 'yes' : vpcNative.outcome === 'refused' ? 'no' : 'unknown';

  const identity = find('workload-identity');
  if (identity) {
    status.workloadIdentity =
      identity.outcome === 'unchanged'
        ? 'on'
        : identity.outcome === 'planned' || identity.outcome === 'skipped'
          ? 'off'
          : identity.outcome === 'refused'
            ? /uses pool/.test(identity.reason ?? '')
              ? 'other-pool'
              : 'off'
            : 'unknown';
  }

  const membership = find('membership');
  if (membership) {
    const name = MEMBERSHIP_IN_REASON.exec(membership.reason ?? '')?.[1];
    if (membership.outcome === 'unchanged') status.membership = name ?? 'yes';
    // A membership registered without workload identity exists; the plan is to give it an authority.
    else if (membership.outcome === 'planned' && name && /^would be updated/.test(membership.reason ?? ''))
      status.membership = `${name} (no workload identity)`;
    else if (membership.outcome === 'planned' || membership.outcome === 'skipped') status.membership = 'none';
    else status.membership = 'unknown';
  }

  const peering = find('peering');
  if (peering) {
    status.peering =
      peering.outcome === 'unchanged'
        ? 'yes'
        : peering.outcome === 'skipped'
          ? 'n/a'
          : peering.outcome === 'planned'
            ? 'no'
            : 'unknown';
  }

  const advertise = find('advertise');
  if (advertise) {
    status.advertised =
      advertise.outcome === 'unchanged'
        ? /^nothing to advertise/.test(advertise.reason ?? '')
          ? 'n/a'
          : 'yes'
        : advertise.outcome === 'planned'
          ? 'no'
          : advertise.outcome === 'skipped'
            ? '-'
            : 'unknown';
  }

  for (const record of records) {
    if (record.step === 'namespaces') {
      const namespace = rest(record.target);
      // A namespaces record on the cluster itself: the Kubernetes API could not be reached (or not yet, in dry run).
      if (!namespace) continue;
      if (record.outcome === 'unchanged') status.namespaces.present.push(namespace);
      else if (record.outcome === 'planned') status.namespaces.missing.push(namespace);
      else status.namespaces.unknown.push(namespace);
    } else if (record.step === 'exports' && record.reason === 'exported') {
      status.exports++;
    }
  }
  return status;
}

export function fleetStatus(records: readonly ActionRecord[], project: string): FleetStatus {
  const feature = records.find((r) => r.step === 'mcs-feature');
  return {
    project,
    mcsFeature:
      feature?.outcome === 'unchanged' ? 'enabled' : feature?.outcome === 'planned' ? 'missing' : 'unknown',
  };
}

/** `global/gke-1` for a membership of the fleet; the whole name otherwise. */
function shortMembership(name: string): string {
  return name.replace(/^projects\/[^/]+\/locations\/([^/]+)\/memberships\/([^/\s]+)/, '$1/$2');
}

function namespacesCell(n: ClusterStatus['namespaces']): string {
  const parts = [...n.present];
  if (n.missing.length) parts.push(`missing ${n.missing.join(',')}`);
  if (n.unknown.length) parts.push(`unknown ${n.unknown.join(',')}`);
  return parts.join('; ') || '-';
}

export const STATUS_COLUMNS = [
  'cluster',
  'spoke',
  'vpc-native',
  'workload-identity',
  'membership',
  'peering',
  'advertised',
  'namespaces',
  'exports',
  'drift',
  'problems',
] as const;

export function statusTable(rows: readonly ClusterStatus[]): string {
  return formatTable(
    rows.map((s) => ({
      cluster: s.cluster,
      spoke: s.spoke,
      'vpc-native': s.vpcNative,
      'workload-identity': s.workloadIdentity,
      membership: shortMembership(s.membership),
      peering: s.peering,
      advertised: s.advertised,
      namespaces: s.spoke === 'yes' ? namespacesCell(s.namespaces) : '-',
      exports: s.spoke === 'yes' ? s.exports : '-',
      drift: s.drift,
      problems: s.problems.join('; ') || (s.spoke === 'no' ? `(${s.spokeReason ?? 'not onboarded'})` : ''),
    })),
    STATUS_COLUMNS,
  );
}

export interface StatusArgs extends Omit<DryRunOptions, 'verb'> {
  request: ReconcileRequest;
  json: boolean;
}

export async function statusCommand(args: StatusArgs, io: Io): Promise<number> {
  const result = await dryRun(args.request, { ...args, verb: 'status' }, io);
  if (result.clusters === 0) {
    println(
      io.stderr,
      `note: no clusters in scope (${describeScope(args.request)}); only the config's projects are listed`,
    );
  }
  const rows = deriveStatus(result.records);
  const fleet = fleetStatus(result.records, result.config.fleetProject);
  // Exported Services per member cluster (details: `status --services`); a read failure only drops the summary.
  const inScope = new Set(rows.map((r) => r.cluster));
  const services = (await clusterServicesSummary(args, io).catch(() => undefined))?.filter((s) =>
    inScope.has(s.cluster),
  );
  if (args.json) {
    printJson(io, { scope: args.request, fleet, clusters: rows, services, durationMs: result.durationMs });
  } else {
    println(io.stdout, statusTable(rows));
    println(io.stdout);
    if (services?.length) {
      println(io.stdout, clusterServicesTable(services));
      println(io.stdout);
    }
    const problems = rows.reduce((n, r) => n + r.problems.length, 0);
    println(
      io.stdout,
      `${describeScope(args.request)}: ${rows.length} cluster(s), ${rows.filter((r) => r.spoke === 'yes').length} in spokes, ` +
        `${problems} problem(s); fleet ${fleet.project}: MCS feature ${fleet.mcsFeature} (read in ${duration(result.durationMs)}, nothing written)`,
    );
  }
  return exitCodeFor(result.records);
}
