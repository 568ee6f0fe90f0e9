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
import { duration, exitCodeFor, printJson } from '../output';
import { type Column, renderTable } from '../table';
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

/** `P/L/C` → its parts. */
function parts(cluster: string): { project: string; location: string; name: string } {
  const [project = '', location = '', ...name] = cluster.split('/');
  return { project, location, name: name.join('/') };
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

/** `unknown` as `?` in the narrow table: the column stays as wide as its header. */
const short = (value: string) => (value === 'unknown' ? '?' : value);

function membershipCell(s: ClusterStatus): string {
  if (s.membership === '-' || s.membership === 'none' || s.membership === 'unknown')
    return short(s.membership === 'none' ? 'no' : s.membership);
  return s.membership.endsWith('(no workload identity)') ? 'no-wi' : 'yes';
}

function problemsText(s: ClusterStatus): string {
  return s.problems.join('; ') || (s.spoke === 'no' ? `(${s.spokeReason ?? 'not onboarded'})` : '');
}

const onboarded = (s: ClusterStatus) => s.spoke === 'yes';

/** The narrow table: short cells, problems counted; long names are shortened so that it fits 120 columns. */
export const STATUS_COLUMNS: ReadonlyArray<Column<ClusterStatus>> = [
  { header: 'name', cell: (s) => parts(s.cluster).name },
  { header: 'location', cell: (s) => parts(s.cluster).location },
  { header: 'spoke', cell: (s) => short(s.spoke) },
  { header: 'wi', cell: (s) => short(s.workloadIdentity === 'other-pool' ? 'other' : s.workloadIdentity) },
  { header: 'fleet', cell: membershipCell },
  { header: 'peering', cell: (s) => short(s.peering) },
  { header: 'advert', cell: (s) => short(s.advertised) },
  {
    header: 'ns',
    cell: (s) => {
      const n = s.namespaces;
      const total = n.present.length + n.missing.length + n.unknown.length;
      return onboarded(s) && total > 0 ? `${n.present.length}/${total}` : '-';
    },
  },
  { header: 'exports', cell: (s) => (onboarded(s) ? s.exports : '-') },
  { header: 'drift', cell: (s) => s.drift },
  { header: 'problems', cell: (s) => s.problems.length },
];

/** `-o wide`: whole names and every problem spelled out. */
export const WIDE_STATUS_COLUMNS: ReadonlyArray<Column<ClusterStatus>> = [
  { header: 'project', cell: (s) => parts(s.cluster).project },
  { header: 'location', cell: (s) => parts(s.cluster).location },
  { header: 'name', cell: (s) => parts(s.cluster).name },
  { header: 'spoke', cell: (s) => s.spoke },
  { header: 'vpc-native', cell: (s) => s.vpcNative },
  { header: 'workload-identity', cell: (s) => s.workloadIdentity },
  { header: 'membership', cell: (s) => shortMembership(s.membership) },
  { header: 'peering', cell: (s) => s.peering },
  { header: 'advertised', cell: (s) => s.advertised },
  { header: 'namespaces', cell: (s) => (onboarded(s) ? namespacesCell(s.namespaces) : '-') },
  { header: 'exports', cell: (s) => (onboarded(s) ? s.exports : '-') },
  { header: 'drift', cell: (s) => s.drift },
  { header: 'problems', cell: problemsText },
];

/** A terminal 120 columns wide; the identifying columns give way (whole names are in `-o wide` and `--json`). */
export const NARROW_FIT = { maxWidth: 120, shrink: ['project', 'name', 'location'] } as const;

export interface StatusView {
  wide?: boolean;
}

/**
 * The table for people. Narrow by default: PROJECT only when the rows span projects, ADVERT only when a row has
 * an answer for it (`aviatrix.advertise` on).
 */
export function statusTable(rows: readonly ClusterStatus[], view: StatusView = {}): string {
  if (view.wide) return renderTable(rows, WIDE_STATUS_COLUMNS);
  const projects = new Set(rows.map((r) => parts(r.cluster).project));
  const columns: Array<Column<ClusterStatus>> = STATUS_COLUMNS.filter(
    (c) => c.header !== 'advert' || rows.some((r) => r.advertised !== '-'),
  );
  if (projects.size > 1) columns.splice(0, 0, WIDE_STATUS_COLUMNS[0]);
  return renderTable(rows, columns, NARROW_FIT);
}

/** yes/no → true/false; anything else (unknown, not checked, not applicable) → null. */
function bool(value: string): boolean | null {
  return value === 'yes' || value === 'on' ? true : value === 'no' || value === 'off' ? false : null;
}

/** One cluster for `--json`: real booleans (null when unknown or not checked) and whole names. */
export function statusJson(s: ClusterStatus) {
  const membership = s.membership.replace(/ \(no workload identity\)$/, '');
  const member = /^projects\//.test(membership);
  return {
    cluster: s.cluster,
    ...parts(s.cluster),
    spoke: bool(s.spoke),
    ...(s.spokeReason !== undefined ? { spokeReason: s.spokeReason } : {}),
    vpcNative: bool(s.vpcNative),
    workloadIdentity: s.workloadIdentity === 'other-pool' ? false : bool(s.workloadIdentity),
    workloadIdentityOtherPool: s.workloadIdentity === 'other-pool',
    member: member ? true : s.membership === 'none' ? false : null,
    membership: member ? membership : null,
    membershipWorkloadIdentity: member ? !s.membership.endsWith('(no workload identity)') : null,
    peeringExport: bool(s.peering),
    peeringApplies: s.peering === 'n/a' ? false : s.peering === '-' || s.peering === 'unknown' ? null : true,
    advertised: bool(s.advertised),
    namespaces: s.namespaces,
    exports: s.exports,
    drift: s.drift,
    problems: s.problems,
  };
}

export interface StatusArgs extends Omit<DryRunOptions, 'verb'> {
  request: ReconcileRequest;
  json: boolean;
  /** `-o wide`: every column, whole names, problems spelled out. */
  wide?: boolean;
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
    printJson(io, {
      scope: args.request,
      fleet,
      clusters: rows.map(statusJson),
      services,
      durationMs: result.durationMs,
    });
  } else {
    println(io.stdout, statusTable(rows, { wide: args.wide }));
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
    if (problems > 0 && !args.wide) println(io.stdout, 'problems are listed with -o wide');
  }
  return exitCodeFor(result.records);
}
