/**
 * Fault injection and request counting shared by every stand-in of the local cloud.
 *
 * Each stand-in names its methods `<api>.<method>` (e.g. `container.GetCluster`, `compute.networks.get`,
 * `gkehub.memberships.create`, `kube.services.get`) and calls `admit()` once per request before doing any work.
 * `admit()` counts the call, applies latency and the rate limit, rolls the dice, and tells the stand-in which
 * fault (if any) to answer with; the stand-in maps the protocol-neutral kind to its own wire shape (a gRPC
 * status, a Google JSON error, a Kubernetes Status, a reset socket).
 */

export type FaultKind =
  | 'unavailable' // gRPC UNAVAILABLE / HTTP 503
  | 'rate-limited' // gRPC RESOURCE_EXHAUSTED / HTTP 429
  | 'internal' // gRPC INTERNAL / HTTP 500
  | 'aborted' // gRPC ABORTED / HTTP 409 ABORTED (kube: 409 Conflict on update)
  | 'deadline' // gRPC DEADLINE_EXCEEDED / HTTP 504
  | 'reset' // the connection is destroyed without an answer
  | 'peering-in-progress' // compute 400 "There is a peering operation in progress…"; elsewhere like 'aborted'
  | 'permission-denied' // gRPC PERMISSION_DENIED / HTTP 403 (permanent)
  | 'invalid-argument'; // gRPC INVALID_ARGUMENT / HTTP 400 (permanent)

export const FAULT_KINDS: readonly FaultKind[] = [
  'unavailable',
  'rate-limited',
  'internal',
  'aborted',
  'deadline',
  'reset',
  'peering-in-progress',
  'permission-denied',
  'invalid-argument',
];

export interface FaultRule {
  /** Probability in [0, 1] that a call fails with one of `faults`. */
  errorRate?: number;
  /** Fault kinds picked uniformly when a call fails; default `['unavailable']`. */
  faults?: FaultKind[];
  /** Added latency per call, in milliseconds. */
  latencyMs?: number;
  /** Token bucket shared by every method the rule matches; excess calls fail with 'rate-limited'. */
  rateLimit?: { perSecond: number; burst?: number };
  /** Fail only this many calls in all (deterministic "fails N times, then works"); with errorRate 1 by default. */
  times?: number;
}

export type CallKind = 'read' | 'write';

export interface MethodCounter {
  kind: CallKind;
  calls: number;
  faults: number;
  /** Most calls of this method in flight at once. */
  maxInFlight: number;
}

export interface Admission {
  /** The fault to answer with, or undefined to serve the call normally. */
  fault?: FaultKind;
  /** Call when the answer has been sent; keeps the in-flight figures right. */
  release(): void;
}

interface Bucket {
  tokens: number;
  last: number;
}

/** Small deterministic PRNG (mulberry32) so a seeded fault run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Does `method` match `pattern`? Patterns are exact names, `*`, or a prefix ending in `.*`. */
export function matches(pattern: string, method: string): boolean {
  if (pattern === '*' || pattern === method) return true;
  return pattern.endsWith('.*') && method.startsWith(pattern.slice(0, -1));
}

export class FaultInjector {
  private readonly ruleList = new Map<string, FaultRule>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly counts = new Map<string, MethodCounter>();
  private readonly inFlight = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private random: () => number;

  constructor(options: { seed?: number } = {}) {
    this.random = options.seed === undefined ? Math.random : seededRandom(options.seed);
  }

  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Adds or replaces the rule for `pattern`. Every matching rule applies (latencies add up). */
  setRule(pattern: string, rule: FaultRule): void {
    this.ruleList.set(pattern, { ...rule });
    this.buckets.delete(pattern);
    this.injected.delete(pattern);
  }

  clearRules(): void {
    this.ruleList.clear();
    this.buckets.clear();
    this.injected.clear();
  }

  rules(): Record<string, FaultRule> {
    return Object.fromEntries(this.ruleList);
  }

  async admit(method: string, kind: CallKind): Promise<Admission> {
    const counter = this.counts.get(method) ?? { kind, calls: 0, faults: 0, maxInFlight: 0 };
    this.counts.set(method, counter);
    counter.calls++;
    const now = (this.inFlight.get(method) ?? 0) + 1;
    this.inFlight.set(method, now);
    counter.maxInFlight = Math.max(counter.maxInFlight, now);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight.set(method, (this.inFlight.get(method) ?? 1) - 1);
    };

    let latency = 0;
    let fault: FaultKind | undefined;
    for (const [pattern, rule] of this.ruleList) {
      if (!matches(pattern, method)) continue;
      latency += rule.latencyMs ?? 0;
      if (!fault && rule.rateLimit && !this.take(pattern, rule.rateLimit)) fault = 'rate-limited';
      const rate = rule.errorRate ?? (rule.times !== undefined ? 1 : 0);
      const budgetLeft = rule.times === undefined || (this.injected.get(pattern) ?? 0) < rule.times;
      if (!fault && rate && budgetLeft && this.random() < rate) {
        const kinds = rule.faults?.length ? rule.faults : (['unavailable'] as FaultKind[]);
        fault = kinds[Math.floor(this.random() * kinds.length)];
        this.injected.set(pattern, (this.injected.get(pattern) ?? 0) + 1);
      }
    }
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (fault) counter.faults++;
    return { fault, release };
  }

  counters(): Record<string, MethodCounter> {
    return Object.fromEntries([...this.counts].map(([method, c]) => [method, { ...c }]));
  }

  /** Served (non-faulted) reads and writes, and faults, summed over the methods starting with `prefix`. */
  totals(prefix = ''): { reads: number; writes: number; faults: number } {
    const sum = { reads: 0, writes: 0, faults: 0 };
    for (const [method, c] of this.counts) {
      if (!method.startsWith(prefix)) continue;
      if (c.kind === 'read') sum.reads += c.calls - c.faults;
      else sum.writes += c.calls - c.faults;
      sum.faults += c.faults;
    }
    return sum;
  }

  resetCounters(): void {
    this.counts.clear();
  }

  private take(pattern: string, limit: { perSecond: number; burst?: number }): boolean {
    const capacity = Math.max(1, limit.burst ?? limit.perSecond);
    const nowMs = Date.now();
    const bucket = this.buckets.get(pattern) ?? { tokens: capacity, last: nowMs };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((nowMs - bucket.last) / 1000) * limit.perSecond);
    bucket.last = nowMs;
    this.buckets.set(pattern, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
