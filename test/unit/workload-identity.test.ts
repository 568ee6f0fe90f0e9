/**
 * The workload identity and node-pool steps on their own: each decision with the reason an operator reads, the
 * re-read after an operation was waited for, a cluster deleted meanwhile, and the writes left to the redelivery.
 */
import assert from 'node:assert/strict';
import type { ClusterInfo, NodePoolInfo } from '../../shared/cloud/ports';
import { withDeadline } from '../../shared/deadline';
import { isNotFound } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import {
  ensureNodePoolMetadata,
  ensureWorkloadIdentity,
  isNewCluster,
} from '../../shared/reconcile/workload-identity';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';

const REF: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'c1' };
const POOL = `${PROJECT}.svc.id.goog`;
const KEY = `${PROJECT}/us-east4/c1`;
const gce = (name: string): NodePoolInfo => ({ name, metadataMode: 'GCE_METADATA' });
const command = (pool: string) =>
  `gcloud container node-pools update ${pool} --cluster=c1 --location=us-east4 --project=${PROJECT} --workload-metadata=GKE_METADATA`;

/** Runs `work` 200 ms into a 600 ms invocation: 150 ms of work time are left. */
const lateInInvocation = <T>(work: () => Promise<T>) =>
  withDeadline(600, async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return work();
  });

/** A cloud whose cluster reads are snapshots, as the API's are (the fake otherwise hands out its live object). */
function snapshotCloud(stored: ClusterInfo): FakeCloud {
  const cloud = new FakeCloud();
  cloud.addCluster(stored);
  const live = cloud.clusters.get;
  cloud.clusters.get = async (ref) => structuredClone(await live(ref));
  return cloud;
}

describe('ensureWorkloadIdentity', () => {
  const decide = (cluster: ClusterInfo, config = {}) => {
    const cloud = new FakeCloud();
    cloud.addCluster(structuredClone(cluster));
    return ensureWorkloadIdentity(testContext(cloud, config).ctx, cluster);
  };

  it('each decision says why', async () => {
    assert.deepEqual(await decide(clusterInfo(REF, { workloadPool: POOL })), {
      outcome: 'unchanged',
      reason: `pool ${POOL}`,
    });
    assert.deepEqual(await decide(clusterInfo(REF, { workloadPool: 'other.svc.id.goog' })), {
      outcome: 'refused',
      reason: `workload identity uses pool other.svc.id.goog, not ${POOL}`,
    });
    assert.deepEqual(await decide(clusterInfo(REF), { workloadIdentity: { policy: 'ignore' } }), {
      outcome: 'skipped',
      reason: 'workload identity is off and policy is ignore',
    });
    assert.deepEqual(await decide(clusterInfo(REF), { workloadIdentity: { policy: 'require' } }), {
      outcome: 'refused',
      reason: 'workload identity is off and policy is require',
    });
    assert.deepEqual(await decide(clusterInfo(REF)), {
      outcome: 'updated',
      reason: `enabled workload identity with pool ${POOL}`,
    });
  });

  it('a cluster deleted since it was read: the update is sent and its NOT_FOUND is what fails the step', async () => {
    const cloud = new FakeCloud();
    await assert.rejects(ensureWorkloadIdentity(testContext(cloud).ctx, clusterInfo(REF)), (e: unknown) =>
      isNotFound(e),
    );
    assert.deepEqual(
      cloud.log.calls.map((c) => c.method),
      ['runningOperations', 'get', 'setWorkloadPool'],
    );
  });

  it('not started late in an invocation, naming the write', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(REF));
    // 6 min × 0.0005 = 180 ms typical, 150 ms left.
    const { ctx } = testContext(cloud, { timeScale: 0.0005 });
    await assert.rejects(
      lateInInvocation(() => ensureWorkloadIdentity(ctx, clusterInfo(REF))),
      /^TransientError: UpdateCluster \(workload identity\) not started/,
    );
  });
});

describe('isNewCluster', () => {
  const { ctx } = testContext(new FakeCloud());
  const created = Date.parse('2026-01-01T00:00:00Z');
  const cluster = clusterInfo(REF, { createTime: '2026-01-01T00:00:00Z' });
  it('new up to exactly maxEventAgeSeconds after creation, not a millisecond later', () => {
    assert.equal(isNewCluster(ctx, cluster, created + 3600_000), true);
    assert.equal(isNewCluster(ctx, cluster, created + 3600_001), false);
  });
});

describe('ensureNodePoolMetadata', () => {
  const newCluster = (nodePools: NodePoolInfo[]) =>
    clusterInfo(REF, { workloadPool: POOL, createTime: new Date().toISOString(), nodePools });

  it('nothing to move: says which pools already run the metadata server, or that there are none', async () => {
    const { ctx } = testContext(new FakeCloud());
    const on = (name: string): NodePoolInfo => ({ name, metadataMode: 'GKE_METADATA' });
    assert.deepEqual(await ensureNodePoolMetadata(ctx, newCluster([on('a'), on('b')])), {
      outcome: 'unchanged',
      reason: 'every node pool runs the GKE metadata server (a, b)',
    });
    assert.deepEqual(await ensureNodePoolMetadata(ctx, newCluster([])), {
      outcome: 'unchanged',
      reason: 'no node pools',
    });
  });

  it('reported, not moved: the reason names the pools, why, and one command per pool to run', async () => {
    const pools = [gce('a'), { name: 'b', metadataMode: 'MODE_UNSPECIFIED' }];
    const report = await ensureNodePoolMetadata(
      testContext(new FakeCloud(), { workloadIdentity: { nodePools: 'report' } }).ctx,
      newCluster(pools),
    );
    assert.deepEqual(report, {
      outcome: 'refused',
      reason: `node pools not on the GKE metadata server: a (GCE_METADATA), b (MODE_UNSPECIFIED); policy is report, so their nodes are not recreated automatically; run: ${command('a')} && ${command('b')}`,
    });
    const old = await ensureNodePoolMetadata(
      testContext(new FakeCloud()).ctx,
      clusterInfo(REF, { workloadPool: POOL, createTime: '2020-01-01T00:00:00Z', nodePools: [gce('a')] }),
    );
    assert.equal(
      old.reason,
      `node pools not on the GKE metadata server: a (GCE_METADATA); the cluster is older than 3600 s and policy is migrate-new, so their nodes are not recreated automatically; run: ${command('a')}`,
    );
  });

  it('dry run: planned, naming the pools', async () => {
    const cloud = new FakeCloud();
    const decision = await ensureNodePoolMetadata(
      testContext(cloud, {}, true).ctx,
      newCluster([gce('a'), gce('b')]),
    );
    assert.deepEqual(decision, {
      outcome: 'planned',
      reason:
        'would be updated: node pools a, b moved to the GKE metadata server (their nodes are recreated)',
    });
    assert.deepEqual(cloud.log.calls, []);
  });

  it('moves each pool: one list of operations, one read, one update per pool', async () => {
    const cloud = snapshotCloud(newCluster([gce('a'), gce('b')]));
    const decision = await ensureNodePoolMetadata(testContext(cloud).ctx, newCluster([gce('a'), gce('b')]));
    assert.deepEqual(decision, {
      outcome: 'updated',
      reason: 'node pools a, b moved to the GKE metadata server (their nodes are recreated)',
    });
    assert.deepEqual(
      cloud.log.calls.map((c) => [c.method, c.args[1]]),
      [
        ['runningOperations', undefined],
        ['get', undefined],
        ['updateNodePoolMetadata', 'a'],
        ['updateNodePoolMetadata', 'b'],
      ],
    );
  });

  it('pools moved since the step’s read: unchanged "moved meanwhile", nothing written', async () => {
    const on = (name: string): NodePoolInfo => ({ name, metadataMode: 'GKE_METADATA' });
    const cloud = snapshotCloud(newCluster([on('a'), on('b')]));
    const decision = await ensureNodePoolMetadata(testContext(cloud).ctx, newCluster([gce('a'), gce('b')]));
    assert.deepEqual(decision, {
      outcome: 'unchanged',
      reason: 'node pools on the GKE metadata server: a (moved meanwhile), b (moved meanwhile)',
    });
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('the cluster deleted since the step’s read: skipped as deleted, nothing written, nothing thrown', async () => {
    const cloud = new FakeCloud();
    const decision = await ensureNodePoolMetadata(testContext(cloud).ctx, newCluster([gce('a')]));
    assert.deepEqual(decision, { outcome: 'skipped', reason: 'the cluster was deleted meanwhile' });
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('pools deleted since the step’s read are named as deleted, and the others still move', async () => {
    const on = (name: string): NodePoolInfo => ({ name, metadataMode: 'GKE_METADATA' });
    const cloud = snapshotCloud(newCluster([gce('b'), on('d')]));
    const decision = await ensureNodePoolMetadata(
      testContext(cloud).ctx,
      newCluster([gce('a'), gce('b'), gce('c'), gce('d')]),
    );
    assert.deepEqual(decision, {
      outcome: 'updated',
      reason:
        'node pools b moved to the GKE metadata server (their nodes are recreated); ' +
        'node pools on the GKE metadata server: d (moved meanwhile); node pools deleted meanwhile: a, c',
    });
    assert.deepEqual(
      cloud.log.writes().map((c) => c.args[1]),
      ['b'],
    );
  });

  it('after waiting for an operation the cluster is read again: a pool it moved is not updated twice', async () => {
    const stored = newCluster([gce('a'), gce('b')]);
    const cloud = snapshotCloud(stored);
    cloud.runningOps.set(KEY, [
      {
        name: 'op-1',
        type: 'UPGRADE_NODES',
        nodePool: 'a',
        finish: () => (stored.nodePools[0].metadataMode = 'GKE_METADATA'),
      },
    ]);
    const decision = await ensureNodePoolMetadata(testContext(cloud).ctx, newCluster([gce('a'), gce('b')]));
    assert.deepEqual(
      cloud.log.writes().map((c) => c.args[1]),
      ['b'],
    );
    assert.equal(
      decision.reason,
      'node pools b moved to the GKE metadata server (their nodes are recreated); node pools on the GKE metadata server: a (after UPGRADE_NODES op-1 (node pool a))',
    );
  });

  it('a cluster-level operation is waited for once, not again for each pool', async () => {
    const cloud = snapshotCloud(newCluster([gce('a'), gce('b')]));
    cloud.runningOps.set(KEY, [{ name: 'op-1', type: 'UPDATE_CLUSTER' }]);
    await ensureNodePoolMetadata(testContext(cloud).ctx, newCluster([gce('a'), gce('b')]));
    assert.deepEqual(
      cloud.log.calls.filter((c) => c.method === 'waitOperation').map((c) => c.args[1]),
      ['op-1'],
    );
    assert.deepEqual(
      cloud.log.writes().map((c) => c.args[1]),
      ['a', 'b'],
    );
  });

  it('not started late in an invocation, naming the pool', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(newCluster([gce('a')]));
    // One batch: 5 min × 0.0006 = 180 ms typical, 150 ms left.
    const { ctx } = testContext(cloud, { timeScale: 0.0006 });
    await assert.rejects(
      lateInInvocation(() => ensureNodePoolMetadata(ctx, newCluster([gce('a')]))),
      /^TransientError: UpdateNodePool a \(recreates its nodes\) not started/,
    );
    assert.deepEqual(cloud.log.writes(), []);
  });
});
