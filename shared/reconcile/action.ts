/**
 * Action records: what one idempotent step found and did. A handler's result is the list of them;
 * they are logged one per line and printed by the demo and the CLI.
 */

export type Outcome =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'unchanged'
  | 'skipped'
  | 'refused'
  | 'failed'
  | 'planned';

/** The steps, in the order reconcileCluster runs them. */
export const STEPS = [
  'spoke',
  'vpc-native',
  'workload-identity',
  'node-pools',
  'membership',
  'mcs-feature',
  'peering',
  'advertise',
  // Building the cluster's Kubernetes client (Connect gateway or endpoint), before the steps that use it.
  'kube-connect',
  'namespaces',
  'exports',
  'offboard',
  // A cluster's reconcile that threw outside every step above (an unexpected error, not a cloud call's): recorded
  // against the cluster so it is neither lost nor blamed on a step that did not run it.
  'cluster',
  // A project or fleet request listing the clusters of a project, then publishing one cluster request per cluster
  // (neither a row of its own).
  'list-clusters',
  'fan-out',
] as const;

export type Step = (typeof STEPS)[number];

export interface ActionRecord {
  step: Step;
  /** What the step acted on: a cluster `P/L/C`, a membership name, `ns/name` of a Service, … */
  target: string;
  outcome: Outcome;
  reason?: string;
  dryRun: boolean;
  durationMs: number;
  /** On `failed`: true when the cause was transient, so the event is worth redelivering. */
  retryable?: boolean;
}

/** Outcomes that mean "the desired state is not reached and someone must look". */
export const PROBLEM_OUTCOMES: ReadonlySet<Outcome> = new Set(['refused', 'failed']);

/** Per-outcome counts, for summary log lines. */
export function countOutcomes(records: readonly ActionRecord[]): Partial<Record<Outcome, number>> {
  const counts: Partial<Record<Outcome, number>> = {};
  for (const r of records) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}
