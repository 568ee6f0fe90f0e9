/**
 * How long Google's long-running writes typically take. The steps use these to decide whether a write can be seen
 * through in the time an invocation has left (a write that cannot is left to the redelivery); the local cloud's
 * `realistic` timing profile draws its operation durations from the same rows. Each row says where its numbers come
 * from; where no Google page states a duration, the row says so and the numbers are chosen on the long side.
 *
 * `scale` (config `timeScale`, 1 in production) shrinks every duration alike, so a sandbox run at 0.01 keeps the
 * same proportions between operations, invocation deadlines and retry backoff.
 */

export interface DurationRow {
  /** Shortest and longest duration the realistic profile draws, in ms. */
  minMs: number;
  maxMs: number;
  /** What a step expects (at or above the middle of the range). */
  typicalMs: number;
  source: string;
}

const MINUTE = 60_000;
const SECOND = 1_000;

export const GCP_DURATIONS = {
  /** CreateCluster of a regional Standard cluster (the sandbox's cluster creations). */
  clusterCreate: {
    minMs: 9 * MINUTE,
    maxMs: 15 * MINUTE,
    typicalMs: 12 * MINUTE,
    source:
      'No Google page states it; reports put a regional Standard cluster at about 9–15 min. Upper bound: gcloud `container clusters create` waits up to 3,600 s (its hidden --timeout default, surface/container/clusters/create.py).',
  },
  /** DeleteCluster. */
  clusterDelete: {
    minMs: 3 * MINUTE,
    maxMs: 8 * MINUTE,
    typicalMs: 6 * MINUTE,
    source: 'No Google page states it; chosen like a cluster update, on the long side.',
  },
  /** UpdateCluster with `desiredWorkloadIdentityConfig` (a control-plane change). */
  clusterUpdate: {
    minMs: 2 * MINUTE,
    maxMs: 8 * MINUTE,
    typicalMs: 6 * MINUTE,
    source:
      'No Google page states it. GKE\'s "Troubleshoot concurrent operations" page: a cluster-level operation blocks every other one while it runs; gcloud `container clusters update` waits up to 3,600 s (surface/container/clusters/update.py). Chosen long: 2–8 min.',
  },
  /** UpdateNodePool to GKE_METADATA: per batch of nodes recreated at the pool's surge settings. */
  nodePoolUpdatePerBatch: {
    minMs: 3 * MINUTE,
    maxMs: 6 * MINUTE,
    typicalMs: 5 * MINUTE,
    source:
      "GKE's workload identity page: updating a pool to the GKE metadata server recreates its nodes, with the pool's surge upgrade settings. No Google page gives a time per node; reports say about 4–5 min per node at surge 1/0. Chosen: 3–6 min per batch of maxSurge + maxUnavailable nodes. gcloud `node-pools update` waits up to 1,800 s (surface/container/node_pools/update.py).",
  },
  /** gkehub memberships.create: CREATING until READY. */
  membershipCreate: {
    minMs: 30 * SECOND,
    maxMs: 2 * MINUTE,
    typicalMs: 90 * SECOND,
    source:
      'No Google page states it; the Terraform provider allows 20 min (google_gke_hub_membership default timeouts), gcloud polls Hub operations up to 30 min (api_lib/util/waiter.py). Chosen: 30 s–2 min.',
  },
  /** gkehub memberships.patch of `authority`. */
  membershipUpdate: {
    minMs: 10 * SECOND,
    maxMs: 60 * SECOND,
    typicalMs: 45 * SECOND,
    source: 'No Google page states it; chosen shorter than a create (no registration).',
  },
  /** gkehub memberships.delete. */
  membershipDelete: {
    minMs: 10 * SECOND,
    maxMs: 60 * SECOND,
    typicalMs: 45 * SECOND,
    source: 'No Google page states it; chosen like an update.',
  },
  /** gkehub features.create (multiclusterservicediscovery). */
  featureCreate: {
    minMs: 5 * SECOND,
    maxMs: 30 * SECOND,
    typicalMs: 20 * SECOND,
    source: 'No Google page states it; chosen: 5–30 s.',
  },
  /** compute networks.addPeering / updatePeering / removePeering. */
  peeringUpdate: {
    minMs: 10 * SECOND,
    maxMs: 60 * SECOND,
    typicalMs: 40 * SECOND,
    source:
      'No Google page states it; the Terraform provider allows 4 min (peering default timeouts). Compute refuses a second peering change on either network while one runs ("There is a peering operation in progress"). Chosen: 10–60 s.',
  },
  /** net.gke.io served in a cluster after it joins a fleet with Multi-Cluster Services. */
  mcsResourcesArrival: {
    minMs: 2 * MINUTE,
    maxMs: 6 * MINUTE,
    typicalMs: 5 * MINUTE,
    source:
      'No Google page states it. GKE\'s "Configuring multi-cluster Services": the MCS controller installs the CRDs in fleet members once the feature is on; a ServiceImport is reported to appear minutes after the export. Chosen: 2–6 min.',
  },
} as const satisfies Record<string, DurationRow>;

export type DurationKind = keyof typeof GCP_DURATIONS;

/** The typical duration of `kind`, scaled. */
export function typicalMs(kind: DurationKind, scale = 1): number {
  return GCP_DURATIONS[kind].typicalMs * scale;
}

/**
 * Batches a node-pool recreation takes: GKE's surge upgrade replaces up to maxSurge + maxUnavailable nodes at a
 * time (at least one), zone by zone is not assumed — the pool's nodes in all its zones are counted together.
 */
export function nodePoolBatches(nodes: number, maxSurge = 1, maxUnavailable = 0): number {
  const parallel = Math.max(1, maxSurge + maxUnavailable);
  return Math.max(1, Math.ceil(Math.max(1, nodes) / parallel));
}
