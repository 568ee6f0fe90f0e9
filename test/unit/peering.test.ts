/**
 * The peering step on its own: which flags it compares and sends, the re-read after waiting for a peering
 * operation, a missing peering, and the update left to the redelivery.
 */
import assert from 'node:assert/strict';
import type { PeeringState } from '../../shared/cloud/ports';
import { withDeadline } from '../../shared/deadline';
import { PermanentError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { ensurePeeringExport } from '../../shared/reconcile/peering';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';

const REF: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'c1' };
const NET = 'gcp-spoke100-us-east4';
const KEY = `${PROJECT}/${NET}/gke-peer`;
const cluster = clusterInfo(REF, { peeringName: 'gke-peer' });
const state = (exportCustomRoutes: boolean, importCustomRoutes: boolean): PeeringState => ({
  name: 'gke-peer',
  exportCustomRoutes,
  importCustomRoutes,
});
const updates = (cloud: FakeCloud) => cloud.log.writes().map((c) => c.args[2]);

describe('ensurePeeringExport', () => {
  it('already exporting: unchanged, naming both flags, without listing operations', async () => {
    const cloud = new FakeCloud();
    cloud.peerings.set(KEY, state(true, false));
    assert.deepEqual(await ensurePeeringExport(testContext(cloud).ctx, cluster), {
      outcome: 'unchanged',
      reason: 'gke-peer: export=true import=false',
    });
    assert.deepEqual(
      cloud.log.calls.map((c) => c.method),
      ['get'],
    );
  });

  it('export right but import not what the config asks: updated, both flags sent', async () => {
    const cloud = new FakeCloud();
    cloud.peerings.set(KEY, state(true, false));
    const decision = await ensurePeeringExport(
      testContext(cloud, { peering: { importCustomRoutes: true } }).ctx,
      cluster,
    );
    assert.deepEqual(decision, { outcome: 'updated', reason: 'gke-peer: export=true import=true' });
    assert.deepEqual(updates(cloud), [state(true, true)]);
  });

  it('a peering the cluster names but the VPC lacks: permanent "peering-missing"', async () => {
    const cloud = new FakeCloud();
    await assert.rejects(ensurePeeringExport(testContext(cloud).ctx, cluster), (e: unknown) => {
      assert.ok(e instanceof PermanentError);
      assert.equal(e.reason, 'peering-missing');
      assert.equal(e.message, `peering gke-peer not found on ${PROJECT}/${NET}`);
      return true;
    });
  });

  it('changed since the step’s first read: unchanged "changed meanwhile", nothing sent', async () => {
    const cloud = new FakeCloud();
    cloud.peerings.set(KEY, state(true, false));
    const read = cloud.peering.get;
    let reads = 0;
    // The first read is from before another invocation's update ended.
    cloud.peering.get = async (...args) => (reads++ === 0 ? state(false, false) : read(...args));
    assert.deepEqual(await ensurePeeringExport(testContext(cloud).ctx, cluster), {
      outcome: 'unchanged',
      reason: 'gke-peer: export=true import=false (changed meanwhile)',
    });
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('an operation that set only the export flag: the import flag is still sent', async () => {
    const cloud = new FakeCloud();
    cloud.peerings.set(KEY, state(false, false));
    cloud.runningOps.set(`${PROJECT}/${NET}`, [
      { name: 'op-p', type: 'updatePeering', finish: () => cloud.peerings.set(KEY, state(true, false)) },
    ]);
    const decision = await ensurePeeringExport(
      testContext(cloud, { peering: { importCustomRoutes: true } }).ctx,
      cluster,
    );
    assert.equal(decision.outcome, 'updated');
    assert.deepEqual(updates(cloud), [state(true, true)]);
  });

  it('not started late in an invocation, naming the write', async () => {
    const cloud = new FakeCloud();
    cloud.peerings.set(KEY, state(false, false));
    // 40 s × 0.0045 = 180 ms typical; 200 ms into a 600 ms invocation, 150 ms are left.
    const { ctx } = testContext(cloud, { timeScale: 0.0045 });
    await assert.rejects(
      withDeadline(600, async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return ensurePeeringExport(ctx, cluster);
      }),
      /^TransientError: networks\.updatePeering not started/,
    );
    assert.deepEqual(cloud.log.writes(), []);
  });
});
