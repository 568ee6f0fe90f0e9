/**
 * `spokefleet plan`: what a reconcile of the scope would do, computed locally in dry-run — every write shown as
 * `planned`, nothing written. Like `terraform plan`, the table lists changes (planned) and problems (failed,
 * refused) only; `--all` adds the unchanged and skipped rows. Exit 1 when a record is failed or refused.
 */
import type { ReconcileRequest } from '../../shared/events/request';
import { type ActionRecord, countOutcomes, PROBLEM_OUTCOMES } from '../../shared/reconcile/action';
import { describeScope } from '../args';
import { type DryRunOptions, dryRun } from '../engine';
import { type Io, println } from '../io';
import { duration, exitCodeFor, outcomeSummary, printJson, recordsTable } from '../output';

export interface PlanArgs extends Omit<DryRunOptions, 'verb'> {
  request: ReconcileRequest;
  json: boolean;
  /** --all: unchanged and skipped rows too. */
  all?: boolean;
}

const RANK: Partial<Record<ActionRecord['outcome'], number>> = { failed: 3, refused: 2, planned: 1 };

/**
 * Every cluster's reconcile checks the fleet-wide MCS feature; the plan shows it once per fleet project, with
 * the most telling outcome (a failure over a planned enable over unchanged).
 */
export function fleetWideOnce(records: readonly ActionRecord[]): ActionRecord[] {
  const out: ActionRecord[] = [];
  const seen = new Map<string, number>();
  for (const record of records) {
    if (record.step !== 'mcs-feature') {
      out.push(record);
      continue;
    }
    const at = seen.get(record.target);
    if (at === undefined) {
      seen.set(record.target, out.length);
      out.push(record);
    } else if ((RANK[record.outcome] ?? 0) > (RANK[out[at].outcome] ?? 0)) {
      out[at] = record;
    }
  }
  return out;
}

/** What the default table shows: changes and problems. */
export function isChange(record: ActionRecord): boolean {
  return record.outcome === 'planned' || PROBLEM_OUTCOMES.has(record.outcome);
}

export async function planCommand(args: PlanArgs, io: Io): Promise<number> {
  const result = await dryRun(args.request, { ...args, verb: 'plan' }, io);
  if (result.clusters === 0) {
    println(
      io.stderr,
      `note: no clusters in scope (${describeScope(args.request)}); only the config's projects are listed`,
    );
  }
  const records = fleetWideOnce(result.records);
  if (args.json) {
    printJson(io, {
      scope: args.request,
      clusters: result.clusters,
      durationMs: result.durationMs,
      outcomes: countOutcomes(records),
      records,
    });
    return exitCodeFor(records);
  }
  const shown = args.all ? records : records.filter(isChange);
  const hidden = records.length - shown.length;
  const planned = records.filter((r) => r.outcome === 'planned').length;
  if (shown.length > 0) {
    println(io.stdout, recordsTable(shown));
    println(io.stdout);
  } else {
    println(io.stdout, 'No changes: every cluster in scope is as configured.');
    println(io.stdout);
  }
  println(
    io.stdout,
    `plan for ${describeScope(args.request)}: ${result.clusters} cluster(s), ${planned} planned change(s) ` +
      `(${outcomeSummary(records)}) in ${duration(result.durationMs)}; nothing was written` +
      (hidden > 0 ? `; ${hidden} unchanged or skipped row(s) not shown (--all shows them)` : ''),
  );
  return exitCodeFor(records);
}
