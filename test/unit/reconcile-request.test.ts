import assert from 'node:assert/strict';
import { reconcileCluster } from '../../shared/reconcile/cluster';
import { reconcileRequest } from '../../shared/reconcile/request';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { grpcError } from '../fakes/errors';

const OTHER = 'spoke-prj-two';

describe('reconcileRequest (manual and periodic)', () => {
  function twoProjects(names = (project: string) => [`${project}-c1`, `${project}-c2`]) {
    const cloud = new FakeCloud();
    for (const project of [PROJECT, OTHER]) {
      for (const name of names(project))
        cloud.addCluster(clusterInfo({ project, location: 'us-east4', name }));
    }
    return cloud;
  }

  it('fleet scope reconciles every cluster of every allowed project, with progress as each finishes', async () => {
    const cloud = twoProjects();
    const progress: string[] = [];
    const result = await reconcileRequest(
      testContext(cloud).ctx,
      { scope: 'fleet' },
      {
        onClusterDone: (done, total) => progress.push(`${done}/${total}`),
      },
    );
    assert.equal(result.clusters, 4);
    assert.deepEqual(progress, ['1/4', '2/4', '3/4', '4/4']);
    assert.equal(cloud.log.writes().filter((c) => c.method === 'createMembership').length, 4);
    // The fleet's memberships are read once for the whole request, not once per cluster.
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 1);
  });

  it('same-named clusters in two projects reconciled at once: one gets the name, the other the hashed fallback', async () => {
    const cloud = twoProjects(() => ['gke-1']);
    await reconcileRequest(testContext(cloud).ctx, { scope: 'fleet' });
    const ids = [...cloud.memberships.keys()].map((n) => n.split('/').pop()).sort();
    assert.equal(ids.length, 2);
    assert.equal(ids[0], 'gke-1');
    assert.match(ids[1] ?? '', /^gke-1-[0-9a-f]{8}$/);
    // At most one lost race: the loser re-reads the list once and takes the fallback.
    assert.ok(cloud.log.calls.filter((c) => c.method === 'createMembership').length <= 3);
  });

  it('project scope lists only that project; a project outside the config is refused, not listed', async () => {
    const cloud = twoProjects();
    assert.equal(
      (await reconcileRequest(testContext(cloud).ctx, { scope: 'project', project: OTHER })).clusters,
      2,
    );
    cloud.log.reset();
    const refused = await reconcileRequest(testContext(cloud).ctx, {
      scope: 'project',
      project: 'not-allowed-prj',
    });
    assert.equal(refused.clusters, 0);
    assert.deepEqual(
      refused.records.map((r) => [r.step, r.target, r.outcome]),
      [['list-clusters', 'not-allowed-prj', 'refused']],
    );
    assert.deepEqual(cloud.log.calls, []);
  });

  it('a cluster whose reconcile throws outside every step is recorded against the cluster, and the others still run', async () => {
    const cloud = twoProjects();
    // The progress hook runs outside every step: its throw stands for any unexpected error there.
    const result = await reconcileRequest(
      testContext(cloud).ctx,
      { scope: 'project', project: OTHER },
      {
        onClusterDone: (done) => {
          if (done === 1) throw new TypeError('unexpected');
        },
      },
    );
    const failures = result.records.filter((r) => r.outcome === 'failed');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.step, 'cluster', 'not blamed on the spoke check, which passed');
    assert.match(failures[0]?.target ?? '', new RegExp(`^${OTHER}/us-east4/${OTHER}-c[12]$`));
    assert.match(failures[0]?.reason ?? '', /unexpected/);
    assert.equal(cloud.log.writes().filter((c) => c.method === 'createMembership').length, 2);
  });

  it('a project whose listing fails is recorded and the other projects still run', async () => {
    const cloud = twoProjects();
    const list = cloud.clusters.list;
    cloud.clusters.list = async (project: string) => {
      if (project === PROJECT) throw grpcError(14, 'unavailable');
      return list(project);
    };
    const result = await reconcileRequest(testContext(cloud).ctx, { scope: 'fleet' });
    assert.equal(result.clusters, 2);
    const failure = result.records.find((r) => r.outcome === 'failed');
    assert.equal(failure?.step, 'list-clusters', 'named for what failed, not the spoke check');
    assert.equal(failure?.target, PROJECT);
    assert.equal(failure?.retryable, true);
  });

  it('concurrency bounds how many clusters run at once', async () => {
    const cloud = twoProjects();
    let inFlight = 0;
    let peak = 0;
    const get = cloud.clusters.get;
    cloud.clusters.get = async (ref) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return get(ref);
    };
    await reconcileRequest(testContext(cloud, { concurrency: 2 }).ctx, { scope: 'fleet' });
    assert.equal(peak, 2);
  });

  it('dry-run over an existing membership without workload identity still reaches the cluster', async () => {
    const cloud = new FakeCloud();
    const ref = { project: PROJECT, location: 'us-east4', name: 'c1' };
    cloud.addCluster(clusterInfo(ref));
    const name = `projects/${FLEET}/locations/global/memberships/c1`;
    cloud.memberships.set(name, {
      name,
      resourceLink: `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/c1`,
      labels: {},
    });
    const records = await reconcileCluster(testContext(cloud, {}, true).ctx, ref);
    assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'planned');
    assert.equal(records.find((r) => r.step === 'namespaces')?.outcome, 'planned');
    assert.deepEqual(cloud.log.writes(), []);
  });
});
