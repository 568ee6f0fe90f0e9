import assert from 'node:assert/strict';
import type { MemoryTransport } from '../../shared/log';
import { reconcileCluster } from '../../shared/reconcile/cluster';
import { reconcileRequest, SUMMARY } from '../../shared/reconcile/request';
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
  it('a cluster request reconciles that cluster alone: nothing listed, its own records only', async () => {
    const cloud = twoProjects();
    const result = await reconcileRequest(testContext(cloud).ctx, {
      scope: 'cluster',
      project: PROJECT,
      location: 'us-east4',
      cluster: `${PROJECT}-c1`,
    });
    assert.equal(result.clusters, 1);
    assert.equal(cloud.log.calls.filter((c) => c.method === 'list').length, 0);
    const created = cloud.log.writes().filter((c) => c.method === 'createMembership');
    assert.equal(created.length, 1);
    // Every record is about this cluster (or what is in it), or the fleet-wide feature it needs.
    for (const r of result.records)
      assert.ok(
        r.target?.startsWith(`${PROJECT}/us-east4/${PROJECT}-c1`) ||
          (r.step === 'mcs-feature' && r.target === FLEET),
        `${r.step} ${r.target}`,
      );
  });
});

describe('reconcileRequest: the summary line a follower reads', () => {
  const OTHER_PRJ = OTHER;
  const summaryOf = (transport: MemoryTransport) => {
    const lines = transport.records().filter((l) => l.summary === SUMMARY);
    assert.equal(lines.length, 1, 'one summary line per request');
    return lines[0] as Record<string, unknown>;
  };
  function fleet() {
    const cloud = new FakeCloud();
    for (const project of [PROJECT, OTHER_PRJ])
      cloud.addCluster(clusterInfo({ project, location: 'us-east4', name: `${project}-c1` }));
    return cloud;
  }

  it('names its target by scope: the cluster P/L/C, the project, or the fleet', async () => {
    const targets: unknown[] = [];
    for (const request of [
      { scope: 'cluster', project: PROJECT, location: 'us-east4', cluster: `${PROJECT}-c1` },
      { scope: 'project', project: OTHER_PRJ },
      { scope: 'fleet' },
    ] as const) {
      const { ctx, transport } = testContext(fleet());
      await reconcileRequest(ctx, request);
      const summary = summaryOf(transport);
      assert.equal(summary.stage, 'done');
      assert.equal(summary.scope, request.scope);
      targets.push(summary.target);
    }
    assert.deepEqual(targets, [`${PROJECT}/us-east4/${PROJECT}-c1`, OTHER_PRJ, 'fleet']);
  });

  it('a converged fleet: outcomes counted, no problems, will not come back', async () => {
    const cloud = fleet();
    await reconcileRequest(testContext(cloud).ctx, { scope: 'fleet' });
    const { ctx, transport } = testContext(cloud);
    const result = await reconcileRequest(ctx, { scope: 'fleet' });
    const summary = summaryOf(transport);
    const counts: Record<string, number> = {};
    for (const r of result.records) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    assert.deepEqual(summary.outcomes, counts);
    assert.ok((counts.unchanged ?? 0) >= 2, JSON.stringify(counts));
    assert.equal(counts.failed, undefined);
    assert.equal(summary.problems, 0);
    assert.equal(summary.willRetry, false);
    assert.equal(summary.clusters, 2);
  });

  it('a transient listing failure among reconciled clusters: one problem, and the request comes back', async () => {
    const cloud = fleet();
    const list = cloud.clusters.list;
    cloud.clusters.list = async (project: string) => {
      if (project === PROJECT) throw grpcError(14, 'unavailable');
      return list(project);
    };
    const { ctx, transport } = testContext(cloud);
    const result = await reconcileRequest(ctx, { scope: 'fleet' });
    assert.ok(result.records.length > 1, 'the other project’s cluster was reconciled');
    const summary = summaryOf(transport);
    assert.equal(summary.problems, 1);
    assert.equal((summary.outcomes as Record<string, number>).failed, 1);
    assert.equal(summary.willRetry, true);
  });

  it('a permanent listing failure is a problem that does not bring the request back', async () => {
    const cloud = fleet();
    const list = cloud.clusters.list;
    cloud.clusters.list = async (project: string) => {
      if (project === PROJECT) throw grpcError(7, 'PERMISSION_DENIED: container.clusters.list');
      return list(project);
    };
    const { ctx, transport } = testContext(cloud);
    await reconcileRequest(ctx, { scope: 'fleet' });
    const summary = summaryOf(transport);
    assert.equal(summary.problems, 1);
    assert.equal(summary.willRetry, false);
  });

  it('a project outside the config: refused with the reason, one problem, not retried', async () => {
    const { ctx, transport } = testContext(fleet());
    const result = await reconcileRequest(ctx, { scope: 'project', project: 'not-allowed-prj' });
    assert.match(result.records[0]?.reason ?? '', /not-allowed-prj is not in the allowed projects/);
    const summary = summaryOf(transport);
    assert.equal(summary.problems, 1);
    assert.deepEqual(summary.outcomes, { refused: 1 });
    assert.equal(summary.willRetry, false);
  });

  it('durationMs is the time the request took', async () => {
    const cloud = fleet();
    const list = cloud.clusters.list;
    cloud.clusters.list = async (project: string) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return list(project);
    };
    const { ctx, transport } = testContext(cloud);
    const before = performance.now();
    const result = await reconcileRequest(ctx, { scope: 'project', project: PROJECT });
    const took = performance.now() - before;
    assert.ok(
      result.durationMs >= 29 && result.durationMs <= Math.ceil(took),
      `${result.durationMs} of ${took}`,
    );
    assert.equal(summaryOf(transport).durationMs, result.durationMs);
  });
});
