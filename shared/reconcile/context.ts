/**
 * What every step receives, and the runner that turns a step's decision into an action record.
 */
import { DeadlineReachedError } from '../calls';
import type { Cloud, RequestPublisher } from '../cloud/ports';
import type { Config } from '../config';
import { timeLeftMs } from '../deadline';
import { classify, describeError, PermanentError } from '../errors';
import type { Logger } from '../log';
import type { GatewayAdvertiser } from '../policy/aviatrix';
import type { KnownSpoke } from '../policy/spokes';
import type { ActionRecord, Outcome, Step } from './action';

export interface ReconcileContext {
  config: Config;
  cloud: Cloud;
  log: Logger;
  /** Plan only: every write becomes `planned` and nothing is written. */
  dryRun: boolean;
  /** Reads shared by the steps of one invocation (see memo). */
  memo: Memo;
  /** Spokes reported by the Aviatrix Controller, when that look-up is configured. */
  extraSpokes?: () => Promise<readonly KnownSpoke[]>;
  /** The Aviatrix Controller's spoke gateways, when `aviatrix.advertise` is configured. */
  advertiser?: GatewayAdvertiser;
  /** The reconcile topic, when project and fleet requests fan out (config `reconcileTopic`); else they run here. */
  publisher?: RequestPublisher;
}

/**
 * Per-invocation memo: an invocation reads some things once and reuses them (the fleet's memberships, whether the
 * MCS feature exists, the fleet-wide export view). Promises are stored so concurrent callers share one read; a
 * failed read is forgotten so a retry reads again.
 */
export class Memo {
  private readonly values = new Map<string, Promise<unknown>>();

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let value = this.values.get(key) as Promise<T> | undefined;
    if (!value) {
      value = load();
      this.values.set(key, value);
      value.catch(() => this.values.delete(key));
    }
    return value;
  }

  /** The value if it was already loaded (or is loading), without loading it. */
  peek<T>(key: string): Promise<T> | undefined {
    return this.values.get(key) as Promise<T> | undefined;
  }

  forget(key: string): void {
    this.values.delete(key);
  }
}

/** A step's decision: its outcome and why. */
export interface Decision {
  outcome: Outcome;
  reason?: string;
}

/**
 * Runs one step and records it. A thrown error becomes a `failed` record (with `retryable` from its class) instead
 * of escaping, so later rows can be skipped with a reason and other clusters still run; the handler decides at the
 * end whether the whole event must be redelivered.
 */
export function runStep(
  ctx: ReconcileContext,
  step: Step,
  target: string,
  body: () => Promise<Decision>,
): Promise<ActionRecord> {
  return recordStep(ctx, step, target, () => {
    // A step is not started once the invocation has no time left: it fails transiently and the redelivery runs it.
    const left = timeLeftMs();
    if (left !== undefined && left <= 0) throw new DeadlineReachedError(`step ${step}`);
    return body();
  });
}

async function recordStep(
  ctx: ReconcileContext,
  step: Step,
  target: string,
  body: () => Promise<Decision>,
): Promise<ActionRecord> {
  const started = performance.now();
  let record: ActionRecord;
  try {
    const decision = await body();
    record = { step, target, ...decision, dryRun: ctx.dryRun, durationMs: elapsed(started) };
  } catch (error) {
    const retryable = classify(error) === 'transient';
    record = {
      step,
      target,
      outcome: 'failed',
      reason: error instanceof PermanentError ? error.message : describeError(error),
      dryRun: ctx.dryRun,
      durationMs: elapsed(started),
      retryable,
    };
  }
  logRecord(ctx.log, record);
  return record;
}

/** `created` etc. in a real run, `planned` in dry-run: call this only where a write would happen. */
export function wrote(
  ctx: ReconcileContext,
  outcome: 'created' | 'updated' | 'deleted',
  reason: string,
): Decision {
  return {
    outcome: ctx.dryRun ? 'planned' : outcome,
    reason: ctx.dryRun ? `would be ${outcome}: ${reason}` : reason,
  };
}

/** Records an error raised outside a step body (connecting, listing) as that step's failure. */
export function failed(
  ctx: ReconcileContext,
  step: Step,
  target: string,
  error: unknown,
): Promise<ActionRecord> {
  // Not through runStep: past the deadline, the deadline check would hide the error that actually happened.
  return recordStep(ctx, step, target, () => Promise.reject(error));
}

export function skipped(step: Step, target: string, ctx: ReconcileContext, reason: string): ActionRecord {
  const record: ActionRecord = {
    step,
    target,
    outcome: 'skipped',
    reason,
    dryRun: ctx.dryRun,
    durationMs: 0,
  };
  logRecord(ctx.log, record);
  return record;
}

function logRecord(log: Logger, record: ActionRecord): void {
  const fields = {
    step: record.step,
    target: record.target,
    outcome: record.outcome,
    reason: record.reason,
    dryRun: record.dryRun,
    durationMs: record.durationMs,
  };
  if (record.outcome === 'failed') log.error(`${record.step} ${record.target}: failed`, fields);
  else if (record.outcome === 'refused') log.warn(`${record.step} ${record.target}: refused`, fields);
  else log.info(`${record.step} ${record.target}: ${record.outcome}`, fields);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
