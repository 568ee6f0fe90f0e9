/**
 * `spokefleet plan`: what a reconcile of the scope would do, computed locally in dry-run — every write shown as
 * `planned`, nothing written. Exit 1 when a record is failed or refused.
 */
import type { ReconcileRequest } from '../../shared/events/request';
import { countOutcomes } from '../../shared/reconcile/action';
import { describeScope } from '../args';
import { type DryRunOptions, dryRun } from '../engine';
import { type Io, println } from '../io';
import { duration, exitCodeFor, outcomeSummary, printJson, recordsTable } from '../output';

export interface PlanArgs extends Omit<DryRunOptions, 'verb'> {
  request: ReconcileRequest;
  json: boolean;
}

export async function planCommand(args: PlanArgs, io: Io): Promise<number> {
  const result = await dryRun(args.request, { ...args, verb: 'plan' }, io);
  if (result.clusters === 0) {
    println(
      io.stderr,
      `note: no clusters in scope (${describeScope(args.request)}); only the config's projects are listed`,
    );
  }
  const { records } = result;
  if (args.json) {
    printJson(io, {
      scope: args.request,
      clusters: result.clusters,
      durationMs: result.durationMs,
      outcomes: countOutcomes(records),
      records,
    });
  } else {
    println(io.stdout, recordsTable(records));
    println(io.stdout);
    const planned = records.filter((r) => r.outcome === 'planned').length;
    println(
      io.stdout,
      `plan for ${describeScope(args.request)}: ${result.clusters} cluster(s), ${planned} planned change(s) ` +
        `(${outcomeSummary(records)}) in ${duration(result.durationMs)}; nothing was written`,
    );
  }
  return exitCodeFor(records);
}
