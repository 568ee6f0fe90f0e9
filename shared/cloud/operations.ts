/**
 * Bounded waiting for long-running operations. Google's LROs finish in seconds to minutes; a function must not wait
 * forever, so a wait that runs out throws a TransientError and the redelivered event finds the work done (or the
 * operation still running, which the adapters also treat as transient).
 */
import { workDeadline } from '../deadline';
import { TransientError } from '../errors';

export interface WaitOptions {
  /** Total wait budget in ms (default 5 minutes). */
  timeoutMs?: number;
  /** First poll interval; grows by half each poll up to `maxIntervalMs`. */
  intervalMs?: number;
  maxIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `poll` until it returns a value other than undefined, or the budget runs out. */
export async function waitFor<T>(
  what: string,
  poll: () => Promise<T | undefined>,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Math.min(
    Date.now() + (options.timeoutMs ?? 300_000),
    workDeadline() ?? Number.POSITIVE_INFINITY,
  );
  const sleep = options.sleep ?? realSleep;
  let interval = options.intervalMs ?? 1_000;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    // The last poll comes as late as it can, not an interval early: an operation that ends in the last interval
    // is seen here, rather than by a redelivery after Pub/Sub's backoff.
    const lastPollAt = deadline - lastPollMs(interval);
    const now = Date.now();
    if (now >= lastPollAt) throw new TransientError(`${what} did not finish in time`, 'operation-timeout');
    await sleep(Math.min(interval, lastPollAt - now));
    interval = Math.min(options.maxIntervalMs ?? 10_000, Math.ceil(interval * 1.5));
  }
}

/** Time kept for the last poll's own call before the deadline: a tenth of the interval, at most a second. */
function lastPollMs(interval: number): number {
  return Math.min(1_000, interval / 10);
}
