/** The seed namespaces step on its own: created, left alone, planned, created concurrently, failed. */
import assert from 'node:assert/strict';
import type { ClusterRef } from '../../shared/events/types';
import { ensureNamespaces } from '../../shared/reconcile/namespaces';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';
import { kubeError } from '../fakes/errors';

const REF: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'c1' };
const rows = (records: Array<{ target: string; outcome: string; reason?: string }>) =>
  records.map((r) => [r.target, r.outcome, r.reason]);

describe('ensureNamespaces', () => {
  const setup = (dryRun = false) => {
    const cloud = new FakeCloud();
    const kube = cloud.addCluster(clusterInfo(REF));
    const { ctx } = testContext(cloud, { namespaces: ['mcs-common', 'team-a'] }, dryRun);
    return { cloud, kube, ctx };
  };

  it('creates the missing ones, labelled as managed; leaves an existing one as it is', async () => {
    const { kube, ctx } = setup();
    kube.namespaces.set('team-a', {});
    assert.deepEqual(rows(await ensureNamespaces(ctx, kube, 'c')), [
      ['c/mcs-common', 'created', 'namespace mcs-common'],
      ['c/team-a', 'unchanged', undefined],
    ]);
    assert.deepEqual(kube.namespaces.get('mcs-common'), { 'app.kubernetes.io/managed-by': 'spokefleet' });
    assert.deepEqual(kube.namespaces.get('team-a'), {});
  });

  it('dry run: planned, nothing created', async () => {
    const { cloud, kube, ctx } = setup(true);
    assert.deepEqual(rows(await ensureNamespaces(ctx, kube, 'c')), [
      ['c/mcs-common', 'planned', 'would be created: namespace mcs-common'],
      ['c/team-a', 'planned', 'would be created: namespace team-a'],
    ]);
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('created by a concurrent delivery (409 AlreadyExists): unchanged; another error fails that row only', async () => {
    const { cloud, kube, ctx } = setup();
    let n = 0;
    cloud.log.failures.set(`kube:${kube.cluster}.createNamespace`, () =>
      n++ === 0 ? kubeError(409, 'exists', 'AlreadyExists') : kubeError(403, 'forbidden'),
    );
    const records = await ensureNamespaces(ctx, kube, 'c');
    assert.deepEqual(
      records.map((r) => [r.target, r.outcome]),
      [
        ['c/mcs-common', 'unchanged'],
        ['c/team-a', 'failed'],
      ],
    );
    assert.equal(records[0].reason, 'created concurrently');
    assert.equal(records[1].retryable, false);
  });
});
