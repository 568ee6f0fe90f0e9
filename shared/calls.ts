/**
 * Per-call time limits. A call already in flight is not stopped by retry budgets or the invocation deadline: against
 * a connection that accepts and never answers, one call could hold the invocation until Cloud Run kills it (neither
 * acknowledged nor cleanly retried). So every API call gets min(time left in the invocation, a per-call cap), passed
 * to the client library as its own timeout — gax `timeout`, googleapis/gaxios `timeout`, an AbortSignal for fetch
 * and the Kubernetes client — so the library itself abandons the request and frees its connection.
 *
 * A call that runs out of time becomes a CallTimeoutError naming the call: transient, so the step fails with that
 * name as its reason (the one log line that says which call hung) and the event goes back to Pub/Sub.
 */
import { timeLeftMs } from './deadline';
import { GrpcCode, grpcCode, TransientError } from './errors';

/** The default per-call cap (config `callTimeoutSeconds`). */
export const DEFAULT_CALL_CAP_MS = 30_000;

/**
 * Calls that are long polls by design get their own cap: Compute's `globalOperations.wait` holds the request until
 * the operation is DONE or about two minutes have passed ("waits for no more than the default deadline (2 minutes)",
 * Compute Engine API reference, globalOperations.wait).
 */
export const LONG_POLL_CAPS_MS: Readonly<Record<string, number>> = {
  'compute.globalOperations.wait': 130_000,
};

export interface CallCaps {
  /** Cap for every call, in ms. */
  capMs: number;
  /** Caps for particular calls (`api.method`), e.g. long polls. */
  byCall?: Readonly<Record<string, number>>;
}

export function capFor(call: string, caps: CallCaps): number {
  return caps.byCall?.[call] ?? LONG_POLL_CAPS_MS[call] ?? caps.capMs;
}

/** A call that did not answer within its time. */
export class CallTimeoutError extends TransientError {
  constructor(
    readonly call: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${call} did not answer within ${timeoutMs} ms`, 'call-timeout', options);
  }
}

/** Nothing was started: the invocation has no time left for another call. */
export class DeadlineReachedError extends TransientError {
  constructor(what: string) {
    super(`the invocation deadline was reached before ${what}; left to the redelivery`, 'deadline');
  }
}

/** The timeout for the next call: min(time left, cap). Throws DeadlineReachedError when no time is left. */
export function callTimeoutMs(call: string, capMs: number, now = Date.now()): number {
  const left = timeLeftMs(now);
  if (left === undefined) return capMs;
  if (left <= 0) throw new DeadlineReachedError(call);
  return Math.max(1, Math.min(capMs, Math.floor(left)));
}

/** Timeout shapes of the libraries: gRPC DEADLINE_EXCEEDED (gax, also over REST), AbortSignal.timeout, gaxios. */
export function isTimeoutError(error: unknown, depth = 0): boolean {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | undefined;
  if (!e || typeof e !== 'object' || depth > 4) return false;
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'TimeoutError') return true;
  if (grpcCode(error) === GrpcCode.DEADLINE_EXCEEDED) return true;
  if (
    typeof e.message === 'string' &&
    /deadline exceeded|aborted due to timeout|timed? ?out/i.test(e.message)
  )
    return true;
  return e.cause !== undefined && e.cause !== error && isTimeoutError(e.cause, depth + 1);
}

/**
 * Runs one call with its timeout (`run` hands it to the library). A failure that took the whole timeout and looks
 * like a timeout becomes a CallTimeoutError; an early DEADLINE_EXCEEDED answered by the server stays what it is.
 */
export async function timedCall<T>(
  call: string,
  capMs: number,
  run: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  const timeoutMs = callTimeoutMs(call, capMs);
  const started = performance.now();
  try {
    return await run(timeoutMs);
  } catch (error) {
    // Timers fire at or after their time; a little slack for clocks read at different moments.
    const tookItAll = performance.now() - started >= timeoutMs * 0.9 - 5;
    if (tookItAll && isTimeoutError(error)) throw new CallTimeoutError(call, timeoutMs, { cause: error });
    throw error;
  }
}
