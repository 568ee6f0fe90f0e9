import type { MethodCounter } from '../../sandbox/faults';
import type { Sandbox } from '../../sandbox/harness';

export type Counters = Record<string, MethodCounter>;

/** Served writes per method since `before` (a counters snapshot). */
export function writesSince(sandbox: Sandbox, before: Counters): Record<string, number> {
  const now = sandbox.cloud.faults.counters();
  const out: Record<string, number> = {};
  for (const [method, c] of Object.entries(now)) {
    if (c.kind !== 'write') continue;
    const served = c.calls - c.faults - ((before[method]?.calls ?? 0) - (before[method]?.faults ?? 0));
    if (served > 0) out[method] = served;
  }
  return out;
}

export function callsSince(sandbox: Sandbox, before: Counters): number {
  let total = 0;
  for (const [method, c] of Object.entries(sandbox.cloud.faults.counters()))
    total += c.calls - (before[method]?.calls ?? 0);
  return total;
}

/** Action records the audit function logged since log index `from`. */
export function recordsSince(sandbox: Sandbox, from: number) {
  return sandbox.audit.logs
    .slice(from)
    .filter((l) => typeof l.step === 'string' && typeof l.outcome === 'string')
    .map((l) => ({
      step: String(l.step),
      target: String(l.target),
      outcome: String(l.outcome),
      reason: String(l.reason ?? ''),
    }));
}
