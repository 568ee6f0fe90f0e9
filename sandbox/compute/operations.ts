/**
 * Compute global operations as GCE keeps them: every mutation answers with an Operation that is polled with
 * `globalOperations.get` or long-polled with `globalOperations.wait` (which returns when the operation is DONE, or
 * after about two minutes with whatever status it has then).
 */
import { hex, numericId, timestamp } from '../google-rest';
import { parseComputeFilter } from './filter';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

export interface OperationError {
  /** GCE error code, e.g. RESOURCE_IN_USE_BY_ANOTHER_RESOURCE. */
  code: string;
  message: string;
  /** HTTP status the synchronous form of the error would have had. */
  httpStatus?: number;
}

export interface ComputeOperation {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  progress: number;
  insertTime: string;
  startTime: string;
  endTime?: string;
  selfLink: string;
  error?: { errors: Array<{ code: string; message: string }> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

interface Entry {
  op: ComputeOperation;
  waiters: Set<() => void>;
}

/** Why the operation failed, or nothing when it succeeded. */
export type OperationWork = () => OperationError | undefined;

export class GlobalOperations {
  private readonly ops = new Map<string, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly waitMaxMs = 120_000) {}

  /**
   * Records an operation on `target` and runs `work` after `runMs` (at once when 0, so the answer is already
   * DONE). Returns the operation as the mutating call answers it.
   */
  start(
    project: string,
    operationType: string,
    target: { link: string; id?: string },
    runMs: number,
    work: OperationWork,
  ): ComputeOperation {
    const name = `operation-${Date.now()}-${hex(6)}-${hex(4)}-${hex(4)}`;
    const now = timestamp();
    const op: ComputeOperation = {
      kind: 'compute#operation',
      id: numericId(),
      name,
      operationType,
      targetLink: target.link,
      ...(target.id ? { targetId: target.id } : {}),
      status: 'RUNNING',
      progress: 0,
      insertTime: now,
      startTime: now,
      selfLink: `${COMPUTE_BASE}/projects/${project}/global/operations/${name}`,
    };
    const entry: Entry = { op, waiters: new Set() };
    this.ops.set(`${project}/${name}`, entry);
    if (runMs <= 0) {
      this.finish(entry, work);
    } else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.finish(entry, work);
      }, runMs);
      this.timers.add(timer);
    }
    return structuredClone(op);
  }

  get(project: string, name: string): ComputeOperation | undefined {
    const entry = this.ops.get(`${project}/${name}`);
    return entry && structuredClone(entry.op);
  }

  /** Resolves when the operation is DONE, the wait cap passes, or `signal` aborts; undefined if unknown. */
  async wait(project: string, name: string, signal?: AbortSignal): Promise<ComputeOperation | undefined> {
    const entry = this.ops.get(`${project}/${name}`);
    if (!entry) return undefined;
    if (entry.op.status !== 'DONE') {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          entry.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, this.waitMaxMs);
        timer.unref();
        entry.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    return structuredClone(entry.op);
  }

  list(): ComputeOperation[] {
    return [...this.ops.values()].map((e) => structuredClone(e.op));
  }

  /** globalOperations.list: the project's operations matching `filter` (one page; Compute's default is 500). */
  listRest(project: string, filter: string | null): Record<string, unknown> {
    const matches = parseComputeFilter(filter);
    const items = [...this.ops.entries()]
      .filter(([key, entry]) => key.startsWith(`${project}/`) && matches(entry.op))
      .map(([, entry]) => structuredClone(entry.op));
    return {
      kind: 'compute#operationList',
      id: `projects/${project}/global/operations`,
      items,
      selfLink: `${COMPUTE_BASE}/projects/${project}/global/operations`,
    };
  }

  /** Stops pending work; operations still running stay RUNNING. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const entry of this.ops.values()) for (const done of [...entry.waiters]) done();
  }

  private finish(entry: Entry, work: OperationWork): void {
    const failure = work();
    const op = entry.op;
    op.status = 'DONE';
    op.progress = 100;
    op.endTime = timestamp();
    if (failure) {
      op.error = { errors: [{ code: failure.code, message: failure.message }] };
      op.httpErrorStatusCode = failure.httpStatus ?? 400;
      op.httpErrorMessage = httpReason(op.httpErrorStatusCode);
    }
    for (const done of [...entry.waiters]) done();
  }
}

/** GCE writes the reason phrase in capitals, e.g. "BAD REQUEST". */
function httpReason(status: number): string {
  const phrases: Record<number, string> = { 400: 'BAD REQUEST', 404: 'NOT FOUND', 409: 'CONFLICT' };
  return phrases[status] ?? 'INTERNAL SERVER ERROR';
}
