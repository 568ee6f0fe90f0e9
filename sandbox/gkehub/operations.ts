/**
 * GKE Hub long-running operations (google.longrunning.Operation in JSON): a mutation answers with an operation
 * that is not done yet; `operations.get` reports `done: true` and the `response` after `opDelayMs`. As in any
 * proto3 JSON answer, `done` is absent (not `false`) while the operation runs.
 */
import { hex, timestamp } from '../google-rest';

export const METADATA_TYPE = 'type.googleapis.com/google.cloud.gkehub.v1.OperationMetadata';

export interface HubOperation {
  name: string;
  metadata: {
    '@type': string;
    createTime: string;
    endTime?: string;
    target: string;
    verb: string;
    apiVersion: 'v1';
  };
  done?: true;
  response?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export class HubOperations {
  private readonly ops = new Map<string, HubOperation>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    /** A fixed time, or one per operation from its verb and target (the sandbox's timing profile). */
    private readonly opDelayMs: number | ((verb: string, target: string) => number),
    /** Called after each operation completes (the local cloud reacts to fleet changes). */
    private readonly completed: () => void = () => {},
  ) {}

  /**
   * Starts an operation in `projects/P/locations/L` on `target`; `finish` runs when it completes and returns the
   * `response` (with its `@type`).
   */
  start(parent: string, target: string, verb: string, finish: () => Record<string, unknown>): HubOperation {
    const op: HubOperation = {
      name: `${parent}/operations/operation-${Date.now()}-${hex(6)}-${hex(4)}-${hex(4)}`,
      metadata: { '@type': METADATA_TYPE, createTime: timestamp(), target, verb, apiVersion: 'v1' },
    };
    this.ops.set(op.name, op);
    const complete = () => {
      op.response = finish();
      op.metadata.endTime = timestamp();
      op.done = true;
      this.completed();
    };
    const delay = typeof this.opDelayMs === 'function' ? this.opDelayMs(verb, target) : this.opDelayMs;
    if (delay <= 0) {
      complete();
    } else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        complete();
      }, delay);
      this.timers.add(timer);
    }
    return structuredClone(op);
  }

  get(name: string): HubOperation | undefined {
    const op = this.ops.get(name);
    return op && structuredClone(op);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
