/**
 * Timing profiles of the local cloud. `instant` (the default for the demo and CI): operations finish in
 * milliseconds. `realistic`: each long-running operation takes a duration drawn from the table of typical GCP
 * durations (shared/durations.ts, a source per row) times `scale` — GKE cluster create/update/delete, node-pool
 * updates (one draw per surge batch of the pool's nodes), membership create/update/delete, feature create, peering
 * operations, and the arrival of the MCS resources in a new fleet member. The functions' invocation budget
 * (config `timeScale`) and the delivery's retry backoff and request timeout scale alike, so the whole system keeps
 * real proportions at any speed. Draws are seeded: a run can be repeated.
 */
import { type DurationKind, GCP_DURATIONS, nodePoolBatches } from '../shared/durations';
import type { NodePool, OperationType } from './container/shapes';
import { seededRandom } from './faults';

export type TimingProfileName = 'instant' | 'realistic';

export interface TimingOptions {
  profile?: TimingProfileName;
  /** Multiplies every drawn duration (0.01 turns a 6-minute update into 3.6 s); default 1. */
  scale?: number;
  seed?: number;
}

/** One duration the realistic profile drew. */
export interface Draw {
  kind: DurationKind;
  /** Scaled ms. */
  ms: number;
  at: number;
  /** What the operation works on (a cluster or a Hub resource name), when known. */
  target?: string;
}

/**
 * Cloud Run and Pub/Sub settings as the Terraform module sets them (terraform/variables.tf `function_settings`
 * defaults): the functions' timeout and the push subscriptions' retry policy, which the sandbox scales, and the
 * reconcile function's instances and concurrent requests per instance.
 */
export const DELIVERY = {
  functionTimeoutMs: 540_000,
  audit: { minimumBackoffMs: 10_000, maximumBackoffMs: 60_000, maxDeliveryAttempts: 10 },
  reconcile: {
    minimumBackoffMs: 10_000,
    maximumBackoffMs: 60_000,
    maxDeliveryAttempts: 20,
    maxInstances: 20,
    requestConcurrency: 4,
  },
} as const;

export class Timing {
  readonly profile: TimingProfileName;
  readonly scale: number;
  /** Every duration drawn so far (the benchmarks sum the unavoidable ones). */
  readonly draws: Draw[] = [];
  private readonly random: () => number;

  constructor(options: TimingOptions = {}) {
    this.profile = options.profile ?? 'instant';
    this.scale = options.scale ?? 1;
    if (!(this.scale > 0 && this.scale <= 1))
      throw new Error(`time scale must be in (0, 1], not ${this.scale}`);
    this.random = seededRandom(options.seed ?? 20261207);
  }

  get realistic(): boolean {
    return this.profile === 'realistic';
  }

  /** A duration of `kind` (summed over `times` draws), scaled; undefined in the instant profile. */
  draw(kind: DurationKind, times = 1, target?: string): number | undefined {
    if (!this.realistic) return undefined;
    const row = GCP_DURATIONS[kind];
    let ms = 0;
    for (let i = 0; i < times; i++) ms += row.minMs + this.random() * (row.maxMs - row.minMs);
    const scaled = Math.round(ms * this.scale);
    this.draws.push({ kind, ms: scaled, at: Date.now(), ...(target ? { target } : {}) });
    return scaled;
  }

  /** GKE: how long an operation of `type` runs (a node-pool update: one draw per surge batch of its nodes). */
  gkeOperationMs(type: OperationType, pool?: NodePool, target?: string): number | undefined {
    switch (type) {
      case 'CREATE_CLUSTER':
        return this.draw('clusterCreate', 1, target);
      case 'DELETE_CLUSTER':
        return this.draw('clusterDelete', 1, target);
      case 'UPDATE_CLUSTER':
        return this.draw('clusterUpdate', 1, target);
      case 'UPGRADE_NODES': {
        const nodes = (pool?.initialNodeCount ?? 1) * Math.max(1, pool?.locations.length ?? 1);
        const surge = pool?.upgradeSettings;
        return this.draw(
          'nodePoolUpdatePerBatch',
          nodePoolBatches(nodes, surge?.maxSurge, surge?.maxUnavailable),
          target,
        );
      }
      default:
        return undefined;
    }
  }

  /** GKE Hub: a membership or feature operation by its verb. */
  hubOperationMs(verb: string, target: string): number | undefined {
    if (target.includes('/features/')) return this.draw('featureCreate', 1, target);
    if (verb === 'create') return this.draw('membershipCreate', 1, target);
    if (verb === 'delete') return this.draw('membershipDelete', 1, target);
    return this.draw('membershipUpdate', 1, target);
  }

  /** The functions' config `timeScale`. */
  get configScale(): number {
    return this.realistic ? this.scale : 1;
  }

  /** The delivery's retry policy and request timeout for a function, scaled; undefined when instant. */
  delivery(
    which: 'audit' | 'reconcile',
  ): { backoffMs: number; maxBackoffMs: number; maxAttempts: number; requestTimeoutMs: number } | undefined {
    if (!this.realistic) return undefined;
    const policy = DELIVERY[which];
    return {
      backoffMs: policy.minimumBackoffMs * this.scale,
      maxBackoffMs: policy.maximumBackoffMs * this.scale,
      maxAttempts: policy.maxDeliveryAttempts,
      requestTimeoutMs: DELIVERY.functionTimeoutMs * this.scale,
    };
  }
}

/** `--timing instant|realistic`, `--time-scale F`, `--timing-seed N` from a command line. */
export function timingFromArgs(argv: readonly string[]): Timing {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const profile = value('--timing') ?? 'instant';
  if (profile !== 'instant' && profile !== 'realistic')
    throw new Error(`--timing must be instant or realistic, not ${profile}`);
  const scale = value('--time-scale');
  const seed = value('--timing-seed');
  return new Timing({
    profile,
    scale: scale === undefined ? undefined : Number(scale),
    seed: seed === undefined ? undefined : Number(seed),
  });
}
