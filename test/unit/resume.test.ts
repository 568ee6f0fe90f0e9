/**
 * The logic of resumable writes: which running operations block a write, when a write is left to the redelivery,
 * how an operation the next invocation finds is waited for instead of started again (fakes; the wire test proves
 * the same through the client libraries and stand-ins).
 */
import assert from 'node:assert/strict';
import { operationTarget, runningOn } from '../../shared/cloud/clusters';
import { invocationDeadline, withDeadline } from '../../shared/deadline';
import { GCP_DURATIONS, nodePoolBatches } from '../../shared/durations';
import { classify, PermanentError, TransientError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { ensureMembership } from '../../shared/reconcile/membership';
import { ensurePeeringExport } from '../../shared/reconcile/peering';
import {
  awaitClusterOperations,
  awaitNetworkOperations,
  blocking,
  describeOperations,
  nodePoolExpectedMs,
  seconds,
  startWithin,
} from '../../shared/reconcile/resume';
import { ensureNodePoolMetadata, ensureWorkloadIdentity } from '../../shared/reconcile/workload-identity';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';

const REF: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'c1' };
const POOL = `${PROJECT}.svc.id.goog`;

describe('resumable writes', () => {
  describe('operationTarget / runningOn: the operations of one cluster out of ListOperations', () => {
    it('reads cluster and node pool from target links as GKE writes them (project number, zones/)', () => {
      assert.deepEqual(
        operationTarget(
          'https://container.googleapis.com/v1/projects/123/zones/us-central1-c/clusters/my-cluster/nodePools/my-np/node/n1',
        ),
        { location: 'us-central1-c', cluster: 'my-cluster', nodePool: 'my-np' },
      );
      assert.deepEqual(
        operationTarget('https://container.googleapis.com/v1/projects/p/locations/us-east4/clusters/c1'),
        { location: 'us-east4', cluster: 'c1' },
      );
      assert.equal(
        operationTarget('https://container.googleapis.com/v1/projects/p/locations/us-east4'),
        undefined,
      );
    });

    it('keeps only operations not DONE on this cluster (not a cluster of a similar name or another location)', () => {
      const link = (loc: string, cluster: string, pool = '') =>
        `https://container.googleapis.com/v1/projects/p/locations/${loc}/clusters/${cluster}${pool}`;
      const running = runningOn(REF, [
        {
          name: 'op-1',
          status: 'RUNNING',
          operationType: 'UPDATE_CLUSTER',
          targetLink: link('us-east4', 'c1'),
        },
        { name: 'op-2', status: 'DONE', operationType: 'UPDATE_CLUSTER', targetLink: link('us-east4', 'c1') },
        {
          name: 'op-3',
          status: 'RUNNING',
          operationType: 'UPDATE_CLUSTER',
          targetLink: link('us-east4', 'c10'),
        },
        {
          name: 'op-4',
          status: 'RUNNING',
          operationType: 'UPDATE_CLUSTER',
          targetLink: link('us-east1', 'c1'),
        },
        {
          name: 'op-5',
          status: 'PENDING',
          operationType: 'UPGRADE_NODES',
          targetLink: link('us-east4', 'c1', '/nodePools/np'),
          startTime: '2026-01-01T00:00:00Z',
        },
      ]);
      assert.deepEqual(running, [
        { name: 'op-1', type: 'UPDATE_CLUSTER' },
        { name: 'op-5', type: 'UPGRADE_NODES', nodePool: 'np', startTime: '2026-01-01T00:00:00Z' },
      ]);
    });

    it('a cluster-level change waits for every operation; a pool change for cluster-level ones and its own pool', () => {
      const ops = [
        { name: 'a', type: 'UPDATE_CLUSTER' },
        { name: 'b', type: 'UPGRADE_NODES', nodePool: 'np1' },
        { name: 'c', type: 'UPGRADE_NODES', nodePool: 'np2' },
      ];
      assert.deepEqual(
        blocking(ops).map((o) => o.name),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        blocking(ops, 'np1').map((o) => o.name),
        ['a', 'b'],
      );
    });
  });

  describe('startWithin: a write longer than the time left is left to the redelivery', () => {
    it('outside an invocation anything may start', () => {
      startWithin('x', 1e9);
    });

    it('starts when the time left covers the typical duration, not when it does not', async () => {
      await withDeadline(10_000, async () => {
        startWithin('short', 5_000);
        assert.throws(
          () => startWithin('UpdateCluster', 4_000, Date.now() + 7_000),
          (e: unknown) =>
            e instanceof TransientError &&
            e.reason === 'not-started' &&
            /UpdateCluster not started: it typically takes 4\.0 s and 2\.\d s of this invocation are left/.test(
              e.message,
            ),
        );
      });
    });

    it('a write longer than any invocation starts at once while a twentieth of one is left (no invocation could see it through)', async () => {
      // 10 s budget, 9.75 s of work time: a 60 s write needs 487 ms left, not 60 s.
      await withDeadline(10_000, async () => {
        startWithin('node pool', 60_000, Date.now() + 9_000);
        assert.throws(() => startWithin('node pool', 60_000, Date.now() + 9_400), /not started/);
      });
    });

    it('starts when the time left is exactly the typical duration', async () => {
      await withDeadline(10_000, async () => {
        const end = (invocationDeadline() ?? 0) - 250; // the answer's reserve
        startWithin('x', 1_000, end - 1_000);
        assert.throws(() => startWithin('x', 1_000, end - 999), /not started/);
      });
    });

    it('a write as long as the work time (budget less the answer reserve), or a little longer, starts at once', async () => {
      await withDeadline(10_000, async () => {
        const start = (invocationDeadline() ?? 0) - 10_000 + 1;
        startWithin('as long', 9_750, start);
        startWithin('a little longer', 9_800, start);
      });
    });

    it('durations in reasons: tenths below 10 s, whole seconds from 10 s', () => {
      assert.deepEqual(
        [seconds(4_000), seconds(9_940), seconds(10_000), seconds(61_400)],
        ['4.0 s', '9.9 s', '10 s', '61 s'],
      );
    });

    it('node-pool recreation: one typical batch per surge batch of the nodes of every zone', () => {
      assert.equal(nodePoolBatches(3, 1, 0), 3);
      assert.equal(nodePoolBatches(3, 2, 1), 1);
      assert.equal(nodePoolBatches(0, 0, 0), 1);
      const { ctx } = testContext(new FakeCloud());
      const batch = GCP_DURATIONS.nodePoolUpdatePerBatch.typicalMs;
      assert.equal(
        nodePoolExpectedMs(ctx, { name: 'p', metadataMode: 'GCE_METADATA', nodeCount: 2, zones: 3 }),
        6 * batch,
      );
      const scaled = testContext(new FakeCloud(), { timeScale: 0.01 }).ctx;
      assert.equal(
        nodePoolExpectedMs(scaled, { name: 'p', metadataMode: 'GCE_METADATA', maxSurge: 1 }),
        batch * 0.01,
      );
    });
  });

  describe('waiting for operations found running', () => {
    const target = `${PROJECT}/us-east4/c1`;
    const waitFails = (cloud: FakeCloud, error: unknown) => {
      cloud.log.failures.set('clusters.waitOperation', () => error);
      cloud.log.failures.set('peering.waitOperation', () => error);
    };
    const network = (ctx: ReturnType<typeof testContext>['ctx'], op: { name: string; type: string }) =>
      awaitNetworkOperations(ctx, PROJECT, 'vpc-1', [op]);

    it('a wait that runs out: transient "operation-running", naming the operation, its target, keeping the cause', async () => {
      const cloud = new FakeCloud();
      const timeout = new TransientError('did not finish', 'operation-timeout');
      waitFails(cloud, timeout);
      const { ctx } = testContext(cloud);
      const check = (message: string) => (e: unknown) => {
        assert.ok(e instanceof TransientError);
        assert.equal(e.reason, 'operation-running');
        assert.equal(e.cause, timeout);
        assert.equal(e.message, message);
        return true;
      };
      await assert.rejects(
        awaitClusterOperations(ctx, REF, [{ name: 'op-1', type: 'UPDATE_CLUSTER' }]),
        check(
          `UPDATE_CLUSTER op-1 on cluster ${target} is still running; waiting for it is left to the redelivery`,
        ),
      );
      await assert.rejects(
        network(ctx, { name: 'op-p', type: 'updatePeering' }),
        check(
          `updatePeering op-p on network ${PROJECT}/vpc-1 is still running; waiting for it is left to the redelivery`,
        ),
      );
    });

    it('another transient error from the wait is rethrown as it is', async () => {
      const cloud = new FakeCloud();
      const busy = new TransientError('unavailable', 'rate-limited');
      waitFails(cloud, busy);
      const { ctx } = testContext(cloud);
      await assert.rejects(
        awaitClusterOperations(ctx, REF, [{ name: 'op-1', type: 'UPDATE_CLUSTER' }]),
        (e) => e === busy,
      );
      await assert.rejects(network(ctx, { name: 'op-p', type: 'updatePeering' }), (e) => e === busy);
    });

    it('an operation that ended in an error has ended: logged, and the step goes on to read the result', async () => {
      const cloud = new FakeCloud();
      waitFails(cloud, new PermanentError('operation failed: node pool busy', 'operation-failed'));
      const { ctx, transport } = testContext(cloud);
      const ops = [
        { name: 'op-1', type: 'UPGRADE_NODES', nodePool: 'np' },
        { name: 'op-2', type: 'UPDATE_CLUSTER' },
      ];
      assert.deepEqual(await awaitClusterOperations(ctx, REF, ops), ops);
      await network(ctx, { name: 'op-p', type: 'updatePeering' });
      assert.deepEqual(
        transport.records().map((r) => [r.message, r.operation, r.type]),
        [
          ['a running operation ended in an error; the step reads the result', 'op-1', 'UPGRADE_NODES'],
          ['a running operation ended in an error; the step reads the result', 'op-2', 'UPDATE_CLUSTER'],
          [
            'a running peering operation ended in an error; the step reads the result',
            'op-p',
            'updatePeering',
          ],
        ],
      );
    });

    it('describeOperations names each operation, and its node pool when it has one', () => {
      assert.equal(
        describeOperations([
          { name: 'op-1', type: 'UPGRADE_NODES', nodePool: 'np' },
          { name: 'op-2', type: 'UPDATE_CLUSTER' },
        ]),
        'UPGRADE_NODES op-1 (node pool np), UPDATE_CLUSTER op-2',
      );
    });
  });

  describe('the steps', () => {
    it('workload identity: an UpdateCluster still running is waited for and not sent again', async () => {
      const cloud = new FakeCloud();
      const cluster = clusterInfo(REF);
      cloud.addCluster(cluster);
      cloud.runningOps.set(`${PROJECT}/us-east4/c1`, [
        { name: 'op-1', type: 'UPDATE_CLUSTER', finish: () => (cluster.workloadPool = POOL) },
      ]);
      const { ctx } = testContext(cloud);
      const decision = await ensureWorkloadIdentity(ctx, clusterInfo(REF));
      assert.deepEqual(decision, {
        outcome: 'unchanged',
        reason: `pool ${POOL} (after UPDATE_CLUSTER op-1)`,
      });
      assert.deepEqual(cloud.log.writes(), []);
    });

    it('workload identity: another operation (not ours) is waited for, then the update is sent', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(REF));
      cloud.runningOps.set(`${PROJECT}/us-east4/c1`, [{ name: 'op-9', type: 'UPGRADE_MASTER' }]);
      const { ctx } = testContext(cloud);
      const decision = await ensureWorkloadIdentity(ctx, clusterInfo(REF));
      assert.equal(decision.outcome, 'updated');
      assert.deepEqual(
        cloud.log.calls.map((c) => c.method),
        ['runningOperations', 'waitOperation', 'get', 'setWorkloadPool'],
      );
    });

    it('an update that ended between the first read and the list is seen by a second read: nothing written', async () => {
      const cloud = new FakeCloud();
      // The store already has the pool (another invocation's update ended); the step holds the older read.
      cloud.addCluster(clusterInfo(REF, { workloadPool: POOL }));
      const { ctx } = testContext(cloud);
      const decision = await ensureWorkloadIdentity(ctx, clusterInfo(REF));
      assert.deepEqual(decision, { outcome: 'unchanged', reason: `pool ${POOL} (set meanwhile)` });
      assert.deepEqual(cloud.log.writes(), []);
    });

    it('an operation still running at the end of the wait ends the step transient, naming it', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(REF));
      cloud.runningOps.set(`${PROJECT}/us-east4/c1`, [
        { name: 'op-1', type: 'UPDATE_CLUSTER', stuck: true, startTime: '2026-12-07T10:00:00Z' },
      ]);
      const { ctx } = testContext(cloud);
      await assert.rejects(ensureWorkloadIdentity(ctx, clusterInfo(REF)), (e: unknown) => {
        assert.equal(classify(e), 'transient');
        assert.match(
          String((e as Error).message),
          /^UPDATE_CLUSTER op-1 on cluster spoke-prj-one\/us-east4\/c1 is still running, started 2026-12-07T10:00:00Z; waiting for it is left to the redelivery$/,
        );
        return true;
      });
      assert.deepEqual(cloud.log.writes(), []);
    });

    it('workload identity: not started when the invocation has less time left than an update takes', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(REF));
      // 6 min × 0.0005 = 180 ms typical; 200 ms into a 600 ms invocation (250 ms reserved), 150 ms are left.
      const { ctx } = testContext(cloud, { timeScale: 0.0005 });
      await withDeadline(600, async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await assert.rejects(
          ensureWorkloadIdentity(ctx, clusterInfo(REF)),
          /not started: it typically takes 0\.2 s and 0\.[0-1] s of this invocation are left/,
        );
      });
      assert.deepEqual(cloud.log.writes(), []);
      await withDeadline(1_000, () => ensureWorkloadIdentity(ctx, clusterInfo(REF)));
      assert.deepEqual(
        cloud.log.writes().map((c) => c.method),
        ['setWorkloadPool'],
      );
    });

    it('node pools: the pool whose operation ran on is reported, the other one is moved; one ListOperations', async () => {
      const cloud = new FakeCloud();
      const pools = [
        { name: 'np1', metadataMode: 'GCE_METADATA' },
        { name: 'np2', metadataMode: 'GCE_METADATA' },
      ];
      const stored = clusterInfo(REF, {
        workloadPool: POOL,
        createTime: new Date().toISOString(),
        nodePools: structuredClone(pools),
      });
      cloud.addCluster(stored);
      cloud.runningOps.set(`${PROJECT}/us-east4/c1`, [
        {
          name: 'op-1',
          type: 'UPGRADE_NODES',
          nodePool: 'np1',
          finish: () => (stored.nodePools[0].metadataMode = 'GKE_METADATA'),
        },
      ]);
      const { ctx } = testContext(cloud);
      const decision = await ensureNodePoolMetadata(
        ctx,
        clusterInfo(REF, { workloadPool: POOL, createTime: stored.createTime, nodePools: pools }),
      );
      assert.equal(decision.outcome, 'updated');
      assert.match(
        String(decision.reason),
        /^node pools np2 moved .*; node pools on the GKE metadata server: np1 \(after UPGRADE_NODES op-1 \(node pool np1\)\)$/,
      );
      assert.deepEqual(
        cloud.log.writes().map((c) => c.args[1]),
        ['np2'],
      );
      assert.equal(cloud.log.calls.filter((c) => c.method === 'runningOperations').length, 1);
    });

    it('dry run: no operations are listed or waited for', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(REF));
      cloud.runningOps.set(`${PROJECT}/us-east4/c1`, [{ name: 'op-1', type: 'UPDATE_CLUSTER', stuck: true }]);
      const { ctx } = testContext(cloud, {}, true);
      assert.equal((await ensureWorkloadIdentity(ctx, clusterInfo(REF))).outcome, 'planned');
      assert.deepEqual(cloud.log.calls, []);
    });

    it('membership: one found CREATING is waited for until READY, and not created again', async () => {
      const cloud = new FakeCloud();
      const name = `projects/${FLEET}/locations/global/memberships/c1`;
      cloud.memberships.set(name, {
        name,
        resourceLink: `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/c1`,
        labels: {},
        workloadIdentityPool: `${FLEET}.svc.id.goog`,
        state: 'CREATING',
      });
      const { ctx } = testContext(cloud);
      const decision = await ensureMembership(ctx, clusterInfo(REF, { workloadPool: POOL }));
      assert.equal(decision.outcome, 'unchanged');
      assert.equal(decision.reason, `membership ${name} (CREATING when found, now READY)`);
      assert.deepEqual(cloud.log.writes(), []);
    });

    it('membership: still CREATING at the end of the wait → transient, naming it', async () => {
      const cloud = new FakeCloud();
      const name = `projects/${FLEET}/locations/global/memberships/c1`;
      cloud.memberships.set(name, {
        name,
        resourceLink: `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/c1`,
        labels: {},
        state: 'CREATING',
      });
      cloud.stuckMemberships.add(name);
      const { ctx } = testContext(cloud);
      await assert.rejects(
        ensureMembership(ctx, clusterInfo(REF, { workloadPool: POOL })),
        (e: unknown) =>
          classify(e) === 'transient' && /is still CREATING; waiting for it is left/.test(String(e)),
      );
      assert.deepEqual(cloud.log.writes(), []);
    });

    it('peering: a peering operation running on the VPC is waited for; the peering read again decides', async () => {
      const cloud = new FakeCloud();
      const cluster = clusterInfo(REF, { peeringName: 'gke-peer' });
      cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-peer`, {
        name: 'gke-peer',
        exportCustomRoutes: false,
        importCustomRoutes: false,
      });
      cloud.runningOps.set(`${PROJECT}/gcp-spoke100-us-east4`, [
        {
          name: 'op-p',
          type: 'updatePeering',
          finish: () =>
            cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-peer`, {
              name: 'gke-peer',
              exportCustomRoutes: true,
              importCustomRoutes: false,
            }),
        },
      ]);
      const { ctx } = testContext(cloud);
      const decision = await ensurePeeringExport(ctx, cluster);
      assert.equal(decision.outcome, 'unchanged');
      assert.match(String(decision.reason), /export=true import=false \(after updatePeering op-p\)$/);
      assert.deepEqual(cloud.log.writes(), []);
    });
  });
});
