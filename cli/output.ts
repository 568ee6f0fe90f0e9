/** Rendering results: plain tables for people, JSON for machines, and the exit code a result deserves. */

import { type ActionRecord, countOutcomes, PROBLEM_OUTCOMES } from '../shared/reconcile/action';
import { type Io, println } from './io';
import { formatTable } from './table';

export { formatTable };

export const EXIT_OK = 0;
/** Any failed or refused record, or an error. */
export const EXIT_FAILURES = 1;
/** The command was called wrong. */
export const EXIT_USAGE = 2;

export function exitCodeFor(records: readonly ActionRecord[]): number {
  return records.some((r) => PROBLEM_OUTCOMES.has(r.outcome)) ? EXIT_FAILURES : EXIT_OK;
}

export function printJson(io: Io, value: unknown): void {
  println(io.stdout, JSON.stringify(value, null, 2));
}

/** `unchanged 12, planned 1, skipped 3` in the order the outcomes first appear. */
export function outcomeSummary(records: readonly ActionRecord[]): string {
  const counts = countOutcomes(records);
  const parts = Object.entries(counts).map(([outcome, n]) => `${outcome} ${n}`);
  return parts.length ? parts.join(', ') : 'no records';
}

/** The plan table: one row per action record. */
export function recordsTable(records: readonly ActionRecord[]): string {
  return formatTable(
    records.map((r) => ({ step: r.step, target: r.target, outcome: r.outcome, reason: r.reason ?? '' })),
    ['step', 'target', 'outcome', 'reason'],
  );
}

/** `1.2 s` / `340 ms`. */
export function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
