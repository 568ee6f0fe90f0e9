/**
 * The invocation's deadline. A Cloud Run function is killed at its timeout (540 s at most for event functions), and
 * a killed invocation is neither acknowledged nor retried cleanly. So every retry loop and operation wait also stops
 * at this deadline — set a margin below the timeout — and the handler rethrows in time for Pub/Sub to redeliver.
 * AsyncLocalStorage carries it through the adapters without threading a parameter through every port.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const store = new AsyncLocalStorage<{ deadline: number; budgetMs: number }>();

/**
 * Kept free at the end of an invocation: a call that gives up at the deadline still has to be recorded, logged and
 * answered (functions-framework's 500) before the deadline itself.
 */
export const ANSWER_RESERVE_MS = 250;

export function withDeadline<T>(budgetMs: number, work: () => Promise<T>): Promise<T> {
  return store.run({ deadline: Date.now() + budgetMs, budgetMs }, work);
}

/** Epoch ms by which the current invocation must finish, if one is set. */
export function invocationDeadline(): number | undefined {
  return store.getStore()?.deadline;
}

/** The whole budget the current invocation started with, if one is set. */
export function invocationBudgetMs(): number | undefined {
  return store.getStore()?.budgetMs;
}

/** Epoch ms by which every call and wait must have ended: the deadline less the answer reserve. */
export function workDeadline(): number | undefined {
  const deadline = invocationDeadline();
  return deadline === undefined ? undefined : deadline - ANSWER_RESERVE_MS;
}

/** Milliseconds left for calls and waits (may be ≤ 0), or undefined outside an invocation. */
export function timeLeftMs(now = Date.now()): number | undefined {
  const until = workDeadline();
  return until === undefined ? undefined : until - now;
}
