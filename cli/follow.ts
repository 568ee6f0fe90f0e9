/**
 * Following a reconcile request to its end, from the one summary line each invocation writes
 * (shared/reconcile/request.ts, `jsonPayload.summary = "reconcile-request"`, with the request's `requestId`):
 *
 * - in process (a cluster request, or a project/fleet request without `reconcileTopic`): the request is over when
 *   its own `stage: "done"` line says it will not come back (`willRetry: false`);
 * - fanned out: the `stage: "fanned-out"` line names the cluster requests it published; the request is over when
 *   the fan-out will not come back and every one of those clusters has a `done` line that will not come back.
 *
 * A line with `willRetry: true` means Pub/Sub will deliver that request again: the follower keeps waiting for the
 * line of the redelivery. A cluster request that never succeeds ends in the dead-letter topic and is reported as
 * still pending when the wait times out. Pure: the CLI feeds it the lines it reads from Cloud Logging.
 */
import type { Outcome } from '../shared/reconcile/action';

export interface SummaryLine {
  /** Cloud Logging's insertId: the same line read twice counts once. */
  insertId: string;
  /** RFC 3339. */
  timestamp: string;
  stage: 'fanned-out' | 'done';
  scope: string;
  target: string;
  published?: string[];
  outcomes: Partial<Record<Outcome, number>>;
  problems: number;
  willRetry: boolean;
}

/** The summary line in a log entry's jsonPayload, or undefined when it is not one. */
export function summaryLine(
  insertId: string,
  timestamp: string,
  payload: Record<string, unknown>,
): SummaryLine | undefined {
  if (payload.summary !== 'reconcile-request') return undefined;
  if (payload.stage !== 'fanned-out' && payload.stage !== 'done') return undefined;
  if (typeof payload.target !== 'string') return undefined;
  const outcomes = (payload.outcomes ?? {}) as Partial<Record<Outcome, number>>;
  return {
    insertId,
    timestamp,
    stage: payload.stage,
    scope: String(payload.scope ?? ''),
    target: payload.target,
    published: Array.isArray(payload.published) ? payload.published.map(String) : undefined,
    outcomes,
    problems: Number(payload.problems ?? (outcomes.failed ?? 0) + (outcomes.refused ?? 0)),
    willRetry: payload.willRetry === true,
  };
}

export interface FollowState {
  /** Every line needed is in and none will come back. */
  complete: boolean;
  /** Fanned out: the clusters published; in process: undefined. */
  clusters?: string[];
  /** Clusters (or the request itself) whose final line is in. */
  done: string[];
  /** Clusters whose last line said they come back, or with no line yet. */
  pending: string[];
  /** Outcome totals over the final lines (the fan-out's own records included). */
  outcomes: Partial<Record<Outcome, number>>;
  /** Targets whose final line reports failed or refused records. */
  withProblems: string[];
}

export class RequestFollower {
  private readonly lines = new Map<string, SummaryLine>();

  /** `target` of the request followed: `P/L/C`, the project, or `fleet`. */
  constructor(private readonly target: string) {}

  /** Adds lines (duplicates ignored); returns how many were new. */
  add(lines: readonly SummaryLine[]): number {
    let added = 0;
    for (const line of lines) {
      if (this.lines.has(line.insertId)) continue;
      this.lines.set(line.insertId, line);
      added++;
    }
    return added;
  }

  state(): FollowState {
    const latest = new Map<string, SummaryLine>();
    const published = new Set<string>();
    let fanOut: SummaryLine | undefined;
    for (const line of [...this.lines.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp))) {
      if (line.stage === 'fanned-out' && line.target === this.target) {
        fanOut = line;
        for (const cluster of line.published ?? []) published.add(cluster);
      } else if (line.stage === 'done') {
        latest.set(line.target, line);
      }
    }
    if (!fanOut) {
      const own = latest.get(this.target);
      const complete = own !== undefined && !own.willRetry;
      return {
        complete,
        done: complete ? [this.target] : [],
        pending: complete ? [] : [this.target],
        outcomes: own?.outcomes ?? {},
        withProblems: complete && own.problems > 0 ? [this.target] : [],
      };
    }
    const clusters = [...published].sort();
    const done = clusters.filter((c) => latest.get(c)?.willRetry === false);
    const pending = clusters.filter((c) => latest.get(c)?.willRetry !== false);
    const outcomes: Partial<Record<Outcome, number>> = {};
    const finals = [fanOut, ...done.map((c) => latest.get(c) as SummaryLine)];
    for (const line of finals) {
      for (const [outcome, count] of Object.entries(line.outcomes) as Array<[Outcome, number]>)
        outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
    }
    return {
      complete: !fanOut.willRetry && pending.length === 0,
      clusters,
      done,
      pending,
      outcomes,
      withProblems: finals.filter((line) => line.problems > 0).map((line) => line.target),
    };
  }
}
