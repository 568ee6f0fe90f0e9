/**
 * The invocation's deadline. A Cloud Run function is killed at its timeout (540 s at most for event functions), and
 * a killed invocation is neither acknowledged nor retried cleanly. So every retry loop and operation wait also stops
 * at this deadline — set a margin below the timeout — and the handler rethrows in time for Pub/Sub to redeliver.
 * AsyncLocalStorage carries it through the adapters without threading a parameter through every port.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const store = new AsyncLocalStorage<{ deadline: number }>();

export function withDeadline<T>(budgetMs: number, work: () => Promise<T>): Promise<T> {
  return store.run({ deadline: Date.now() + budgetMs }, work);
}

/** Epoch ms by which the current invocation must finish, if one is set. */
export function invocationDeadline(): number | undefined {
  return store.getStore()?.deadline;
}
