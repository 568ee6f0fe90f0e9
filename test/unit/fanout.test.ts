import assert from 'node:assert/strict';
import type { PublishOutcome, RequestPublisher } from '../../shared/cloud/ports';
import { withDeadline } from '../../shared/deadline';
import { parseReconcileRequest } from '../../shared/events/request';
import type { ClusterRef } from '../../shared/events/types';
import { clusterRequest, type FanOutClock, fanOut, paceFor } from '../../shared/reconcile/fanout';
import { reconcileRequest, SUMMARY } from '../../shared/reconcile/request';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';
import { gaxiosError, grpcError, kubeError } from '../fakes/errors';

const TOPIC = 'projects/fleet-host-prj/topics/spokefleet-reconcile';
const OTHER = 'spoke-prj-two';

/** Records what it publishes and when (on the fake clock); `fail` decides per request which ones fail. */
class RecordingPublisher implements RequestPublisher {
  readonly topic = TOPIC;
  readonly calls: Array<{ at: number; requests: Array<Record<string, unknown>> }> = [];
  constructor(
    private readonly clock: { now(): number } = { now: () => 0 },
    public fail: (request: Record<string, unknown>, attempt: number) => unknown = () => undefined,
  ) {}
  private readonly attempts = new Map<string, number>();

  async publish(requests: readonly object[]): Promise<PublishOutcome[]> {
    const list = requests as Array<Record<string, unknown>>;
    this.calls.push({ at: this.clock.now(), requests: list });
    return list.map((request) => {
      const key = JSON.stringify(request);
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const error = this.fail(request, attempt);
      return error ? { error } : { messageId: `m-${this.calls.length}-${String(request.cluster)}` };
    });
  }

  get published(): Array<Record<string, unknown>> {
    return this.calls.flatMap((c) => c.requests);
  }
}

class FakeClock implements FanOutClock {
  t = 0;
  readonly sleeps: number[] = [];
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

const refs = (n: number, project = PROJECT): ClusterRef[] =>
  Array.from({ length: n }, (_, i) => ({ project, location: 'us-east4', name: `c-${i}` }));

function fleetOf(perProject: number) {
  const cloud = new FakeCloud();
  for (const project of [PROJECT, OTHER])
    for (const ref of refs(perProject, project)) cloud.addCluster(clusterInfo(ref));
  return cloud;
}

describe('fan-out: project and fleet requests publish one cluster request per cluster', () => {
  it('a fleet request publishes every cluster of every allowed project and reconciles none itself', async () => {
    const cloud = fleetOf(3);
    const publisher = new RecordingPublisher();
    const { ctx, transport } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const before = performance.now();
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet', requestId: 'r-1' });
    const took = performance.now() - before;
    assert.deepEqual(
      publisher.published.map((r) => `${r.project}/${r.cluster}`).sort(),
      [...refs(3), ...refs(3, OTHER)].map((r) => `${r.project}/${r.name}`).sort(),
    );
    // Listing is all it read (the clusters, and the fleet's members, whose exports it would reconcile itself: none
    // here): no cluster was read or written here.
    assert.deepEqual([...new Set(cloud.log.calls.map((c) => c.method))].sort(), ['list', 'listMemberships']);
    assert.deepEqual(
      result.records.map((r) => [r.step, r.outcome]),
      [['fan-out', 'created']],
    );
    assert.equal(result.published?.length, 6);
    const summary = transport.records().find((l) => l.summary === SUMMARY);
    assert.equal(summary?.stage, 'fanned-out');
    assert.equal(summary?.requestId, 'r-1');
    assert.equal((summary?.published as string[] | undefined)?.length, 6);
    assert.equal(summary?.willRetry, false);
    assert.equal(summary?.target, 'fleet');
    assert.ok(
      result.durationMs >= 0 && result.durationMs <= Math.ceil(took),
      `${result.durationMs} of ${took}`,
    );
    assert.equal(summary?.durationMs, result.durationMs);
  });

  it('each published request is a valid cluster request carrying dryRun and requestId', async () => {
    const cloud = fleetOf(1);
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, {}, true);
    await reconcileRequest(
      { ...ctx, publisher },
      { scope: 'project', project: PROJECT, requestId: 'plan-7' },
    );
    assert.equal(publisher.published.length, 1);
    const parsed = parseReconcileRequest(Buffer.from(JSON.stringify(publisher.published[0])));
    assert.deepEqual(parsed, {
      scope: 'cluster',
      project: PROJECT,
      location: 'us-east4',
      cluster: 'c-0',
      dryRun: true,
      requestId: 'plan-7',
    });
    assert.deepEqual(clusterRequest(refs(1)[0], { dryRun: false }), {
      scope: 'cluster',
      project: PROJECT,
      location: 'us-east4',
      cluster: 'c-0',
    });
  });

  it('a cluster request never fans out: it is reconciled in its own invocation', async () => {
    const cloud = fleetOf(1);
    const publisher = new RecordingPublisher();
    const { ctx, transport } = testContext(cloud);
    const [ref] = refs(1);
    const result = await reconcileRequest(
      { ...ctx, publisher },
      { scope: 'cluster', project: ref.project, location: ref.location, cluster: ref.name, requestId: 'r-2' },
    );
    assert.equal(publisher.calls.length, 0);
    assert.ok(result.records.some((r) => r.step === 'membership' && r.outcome === 'created'));
    const summary = transport.records().find((l) => l.summary === SUMMARY);
    assert.equal(summary?.stage, 'done');
    assert.equal(summary?.target, `${PROJECT}/us-east4/c-0`);
  });

  it('publishes the clusters with the longest expected chain of operations first, the rest in listing order', async () => {
    const cloud = new FakeCloud();
    const pool = (name: string, metadataMode: string, nodeCount = 1) => ({
      name,
      metadataMode,
      nodeCount,
      zones: 3,
    });
    const own = (ref: ClusterRef) => ({ workloadPool: `${ref.project}.svc.id.goog` });
    const [a, b, c, d, e, f] = refs(6);
    // a, c, f converged; b: workload identity off; d: one pool to move (3 nodes, 3 batches); e: both (longest).
    cloud.addCluster(clusterInfo(a, { ...own(a), nodePools: [pool('p', 'GKE_METADATA')] }));
    cloud.addCluster(clusterInfo(b, { nodePools: [pool('p', 'GKE_METADATA')] }));
    cloud.addCluster(clusterInfo(c, { ...own(c) }));
    cloud.addCluster(clusterInfo(d, { ...own(d), nodePools: [pool('p', 'GCE_METADATA')] }));
    cloud.addCluster(clusterInfo(e, { nodePools: [pool('p', 'GCE_METADATA'), pool('q', 'GKE_METADATA')] }));
    cloud.addCluster(clusterInfo(f, { ...own(f), nodePools: [pool('p', 'GKE_METADATA')] }));
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    await reconcileRequest({ ...ctx, publisher }, { scope: 'project', project: PROJECT });
    assert.deepEqual(
      publisher.published.map((r) => r.cluster),
      ['c-4', 'c-3', 'c-1', 'c-0', 'c-2', 'c-5'],
    );
  });

  it('without a publisher (the CLI plan, or no reconcileTopic) a fleet request runs in process', async () => {
    const cloud = fleetOf(2);
    const { ctx } = testContext(cloud);
    const result = await reconcileRequest(ctx, { scope: 'fleet' });
    assert.equal(result.published, undefined);
    assert.equal(result.clusters, 4);
    assert.equal(cloud.memberships.size, 4);
  });
});

describe('fan-out pacing', () => {
  it('spreads the requests evenly, one slice per second, at fanOut.clustersPerMinute', async () => {
    const clock = new FakeClock();
    const publisher = new RecordingPublisher(clock);
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 300 } });
    const result = await fanOut(ctx, publisher, { scope: 'fleet' }, refs(23), clock);
    assert.equal(result.perMinute, 300);
    // 300/min = 5 per second: slices of 5 at t = 0, 1, 2, 3 s and the last 3 at 4 s.
    assert.deepEqual(
      publisher.calls.map((c) => [c.at, c.requests.length]),
      [
        [0, 5],
        [1000, 5],
        [2000, 5],
        [3000, 5],
        [4000, 3],
      ],
    );
    // No minute-long window ever holds more than a minute's pace plus one slice.
    assert.equal(publisher.published.length, 23);
  });

  it('a pace that fits is kept as configured: no warning, and the record says the pace alone', async () => {
    const clock = new FakeClock();
    clock.t = Date.now();
    const publisher = new RecordingPublisher(clock);
    const { ctx, transport } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 300 } });
    // 10 requests at 300/min take 2 s; the invocation has a minute.
    const result = await withDeadline(60_000, () =>
      fanOut(ctx, publisher, { scope: 'fleet' }, refs(10), clock),
    );
    assert.equal(result.perMinute, 300);
    assert.deepEqual(
      transport.records().filter((l) => l.severity === 'WARNING'),
      [],
    );
    assert.deepEqual(
      [result.records[0].target, result.records[0].reason],
      ['fleet', `published 10 cluster request(s) to ${TOPIC}, paced at 300/min`],
    );
  });

  it('a slow pace publishes each request in its own slice, at most a second before its slot', async () => {
    const clock = new FakeClock();
    const start = Date.now();
    clock.t = start;
    const publisher = new RecordingPublisher(clock);
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 20 } });
    await fanOut(ctx, publisher, { scope: 'fleet' }, refs(4), clock);
    const times = publisher.calls.map((c) => c.at - start);
    assert.deepEqual(
      publisher.calls.map((c) => c.requests.length),
      [1, 1, 1, 1],
    );
    // 20/min = one every 3 s; each slice publishes what falls due within the next second.
    assert.deepEqual(times, [0, 2000, 5000, 8000]);
    // Done at the last publish: no wait after it.
    assert.equal(clock.t - start, 8000);
  });

  it('with the real clock the pace is kept by waiting between slices', async () => {
    const publisher = new RecordingPublisher({ now: () => performance.now() });
    // At timeScale 0.01, 20/min is one request every 30 ms, each published up to a 10 ms slice early.
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 20 }, timeScale: 0.01 });
    await fanOut(ctx, publisher, { scope: 'fleet' }, refs(3));
    const times = publisher.calls.map((c) => c.at - (publisher.calls[0]?.at ?? 0));
    assert.equal(times.length, 3);
    assert.ok((times[1] ?? 0) >= 19 && (times[2] ?? 0) >= 49, times.join(', '));
  });

  it('a pace that cannot finish before the deadline is raised to fit, with a warning', async () => {
    const clock = new FakeClock();
    clock.t = Date.now();
    const publisher = new RecordingPublisher(clock);
    const { ctx, transport } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 60 } });
    // 120 requests at 60/min need two minutes; the invocation has ten seconds.
    const result = await withDeadline(10_000, () =>
      fanOut(ctx, publisher, { scope: 'fleet' }, refs(120), clock),
    );
    // 80 % of the ten seconds left is for the pacing: 120 requests in 8 s is 900 per minute (a little more, as some
    // milliseconds have passed before the fan-out reads the time left).
    assert.ok(result.perMinute >= 900 && result.perMinute < 1_000, String(result.perMinute));
    const last = publisher.calls.at(-1)?.at ?? 0;
    assert.ok(
      last - clock.sleeps.length * 0 - (publisher.calls[0]?.at ?? 0) < 10_000,
      `last slice at +${last}`,
    );
    assert.equal(publisher.published.length, 120);
    assert.ok(transport.records().some((l) => l.severity === 'WARNING' && l.perMinute === result.perMinute));
    assert.match(result.records[0].reason ?? '', /raised from 60\/min/);
  });

  it("keeps the pace in the deployment's time: at timeScale 0.01 a second is 10 ms", async () => {
    const clock = new FakeClock();
    const publisher = new RecordingPublisher(clock);
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 300 }, timeScale: 0.01 });
    const result = await fanOut(ctx, publisher, { scope: 'fleet' }, refs(23), clock);
    assert.equal(result.perMinute, 300);
    assert.deepEqual(
      publisher.calls.map((c) => [c.at, c.requests.length]),
      [
        [0, 5],
        [10, 5],
        [20, 5],
        [30, 5],
        [40, 3],
      ],
    );
  });

  it('paceFor keeps the configured pace when it fits and raises it when it does not', () => {
    assert.equal(paceFor(250, 300, 384_000 * 0.01, 60_000 * 0.01), 300);
    assert.equal(paceFor(250, 100, 600, 600), 250);
    assert.equal(paceFor(250, 300, undefined), 300);
    assert.equal(paceFor(250, 300, 384_000), 300);
    assert.equal(paceFor(250, 100, 60_000), 250);
    assert.equal(paceFor(0, 100, 1), 100);
  });
});

describe('fan-out failures', () => {
  it('a request that failed to publish is tried once more; then the fan-out succeeds', async () => {
    const clock = new FakeClock();
    const unavailable = grpcError(14, 'unavailable');
    const publisher = new RecordingPublisher(clock, (r, attempt) =>
      r.cluster === 'c-1' && attempt === 1 ? unavailable : undefined,
    );
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 6000 } });
    const result = await fanOut(ctx, publisher, { scope: 'fleet' }, refs(3), clock);
    assert.equal(result.records[0].outcome, 'created');
    assert.equal(result.published.length, 3);
    assert.deepEqual(
      publisher.calls.at(-1)?.requests.map((r) => r.cluster),
      ['c-1'],
    );
  });

  it('a transient failure that persists: one failed, retryable record naming how many were published', async () => {
    const clock = new FakeClock();
    const unavailable = grpcError(14, '14 UNAVAILABLE: no connection');
    const publisher = new RecordingPublisher(clock, (r) => (r.cluster === 'c-2' ? unavailable : undefined));
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 6000 } });
    const result = await fanOut(ctx, publisher, { scope: 'project', project: PROJECT }, refs(4), clock);
    assert.equal(result.records.length, 1);
    const [record] = result.records;
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.equal(record.target, PROJECT);
    assert.match(record.reason ?? '', /published 3 of 4 cluster request\(s\).*1 failed/);
  });

  it('a permanent failure (no permission to publish) is not retried by redelivery', async () => {
    const clock = new FakeClock();
    const denied = grpcError(7, '7 PERMISSION_DENIED: User not authorized');
    const publisher = new RecordingPublisher(clock, () => denied);
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 6000 } });
    const result = await fanOut(ctx, publisher, { scope: 'fleet' }, refs(2), clock);
    assert.equal(result.records[0].step, 'fan-out');
    assert.equal(result.records[0].outcome, 'failed');
    assert.equal(result.records[0].retryable, false);
    assert.match(result.records[0].reason ?? '', /published 0 of 2 .*2 failed: .*PERMISSION_DENIED/);
  });

  it('permanent and transient failures together: retryable, and the reason names the transient cause', async () => {
    const clock = new FakeClock();
    const denied = grpcError(7, '7 PERMISSION_DENIED: User not authorized');
    const unavailable = grpcError(14, '14 UNAVAILABLE: no connection');
    const publisher = new RecordingPublisher(clock, (r) =>
      r.cluster === 'c-0' ? denied : r.cluster === 'c-1' ? unavailable : undefined,
    );
    const { ctx } = testContext(new FakeCloud(), { fanOut: { clustersPerMinute: 6000 } });
    const result = await fanOut(ctx, publisher, { scope: 'fleet' }, refs(3), clock);
    const [record] = result.records;
    assert.equal(record.retryable, true, 'the redelivery may publish what was unavailable');
    assert.match(record.reason ?? '', /published 1 of 3 .*2 failed: .*UNAVAILABLE/);
  });
});

describe('fan-out: the member clusters’ exports are reconciled by the request that fans out', () => {
  const LABEL = { 'spokefleet.io/export': 'true' };
  const MANAGED = { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' };

  /** `n` clusters in PROJECT, the first `members` of them fleet members, each with Service svc-i labelled. */
  function fleetWithServices(n: number, members: number, exported: boolean) {
    const cloud = new FakeCloud();
    const kubes = refs(n).map((ref, i) => {
      if (i < members) {
        const name = `projects/fleet-host-prj/locations/global/memberships/${ref.name}`;
        cloud.memberships.set(name, {
          name,
          resourceLink: `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`,
          labels: {},
        });
      }
      const kube = cloud.addCluster(clusterInfo(ref));
      kube.namespaces.set('mcs-common', {});
      kube.addService('mcs-common', `svc-${i}`, LABEL);
      if (exported) kube.addExport('mcs-common', `svc-${i}`, MANAGED);
      return kube;
    });
    return { cloud, kubes };
  }
  const count = (cloud: FakeCloud, method: string) =>
    cloud.log.calls.filter((c) => c.method === method).length;

  it('reconciles the members’ exports here and marks their requests; a non-member reconciles its own', async () => {
    const { cloud, kubes } = fleetWithServices(4, 3, false);
    const publisher = new RecordingPublisher();
    const { ctx, transport } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet', requestId: 'r-2' });
    assert.deepEqual(publisher.published.map((r) => [r.cluster, r.exportsByParent ?? false]).sort(), [
      ['c-0', true],
      ['c-1', true],
      ['c-2', true],
      ['c-3', false],
    ]);
    assert.deepEqual(
      kubes.map((k) => [...k.exports.keys()]),
      [['mcs-common/svc-0'], ['mcs-common/svc-1'], ['mcs-common/svc-2'], []],
    );
    assert.deepEqual(
      result.records.filter((r) => r.step === 'exports').map((r) => [r.target, r.outcome]),
      [0, 1, 2].map((i) => [`${PROJECT}/us-east4/c-${i}/mcs-common/svc-${i}`, 'created']),
    );
    // What the cluster function receives: each request parses, the flag included.
    for (const published of publisher.published)
      assert.deepEqual(parseReconcileRequest(Buffer.from(JSON.stringify(published))), published);
    const summary = transport.records().find((l) => l.summary === SUMMARY);
    assert.equal(summary?.exportsReconciledHere, 3);
  });

  it('a converged fleet: each member’s ServiceExports are listed once for the whole request', async () => {
    const { cloud } = fleetWithServices(5, 5, true);
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    assert.ok(
      result.records.filter((r) => r.step === 'exports').every((r) => r.outcome === 'unchanged'),
      JSON.stringify(result.records),
    );
    // The recount and the health of every export share one fleet view: per member, one list of its exports, one
    // of its imports, one of its labelled Services, one read of the namespace.
    assert.equal(count(cloud, 'listServiceExports'), 5);
    assert.equal(count(cloud, 'getNamespace'), 5);
    assert.equal(count(cloud, 'listServiceImports'), 5);
    assert.equal(count(cloud, 'listServices'), 5);
    assert.equal(count(cloud, 'listMemberships'), 1);
  });

  it('a cluster request with exportsByParent leaves the exports alone; without it, it reconciles them', async () => {
    for (const exportsByParent of [true, false]) {
      const { cloud, kubes } = fleetWithServices(1, 1, false);
      const { ctx } = testContext(cloud);
      const request = { scope: 'cluster', project: PROJECT, location: 'us-east4', cluster: 'c-0' } as const;
      const result = await reconcileRequest(ctx, exportsByParent ? { ...request, exportsByParent } : request);
      const exports = result.records.filter((r) => r.step === 'exports');
      if (exportsByParent) {
        assert.deepEqual(
          exports.map((r) => r.outcome),
          ['skipped'],
        );
        assert.equal(kubes[0].exports.size, 0);
        assert.equal(count(cloud, 'listServiceExports') + count(cloud, 'listServices'), 0);
      } else {
        assert.deepEqual(
          exports.map((r) => r.outcome),
          ['created'],
        );
      }
    }
  });

  it('the recount: exports beyond a limit are withdrawn here, by the fleet-wide order, with the refusal Event', async () => {
    // Seven members export one name (labelled in each, as concurrent events could leave it); the limit is five.
    const { cloud, kubes } = fleetWithServices(7, 7, false);
    for (const kube of kubes) {
      kube.services.clear();
      kube.addService('mcs-common', 'api', LABEL);
      kube.addExport('mcs-common', 'api', MANAGED);
    }
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    // The five oldest stay; the two newest are withdrawn and their Services refused, with the Event.
    assert.deepEqual(
      kubes.map((k) => k.exports.size),
      [1, 1, 1, 1, 1, 0, 0],
    );
    const refusedHere = result.records.filter((r) => r.step === 'exports' && r.outcome === 'refused');
    assert.deepEqual(
      refusedHere.map((r) => r.target),
      [5, 6].map((i) => `${PROJECT}/us-east4/c-${i}/mcs-common/api`),
    );
    assert.deepEqual(
      kubes.map((k) => k.events.filter((e) => e.reason === 'ExportRefused').length),
      [0, 0, 0, 0, 0, 1, 1],
    );
  });

  it('the memberships cannot be read: nothing is marked, each cluster request reconciles its own exports', async () => {
    const { cloud, kubes } = fleetWithServices(2, 2, false);
    cloud.log.failures.set('fleet.listMemberships', () => gaxiosError(503, 'UNAVAILABLE'));
    const publisher = new RecordingPublisher();
    const { ctx, transport } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 }, retryBudgetMs: 1 });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    assert.deepEqual(
      publisher.published.map((r) => r.exportsByParent ?? false),
      [false, false],
    );
    assert.deepEqual(
      result.records.filter((r) => r.step !== 'fan-out'),
      [],
    );
    assert.ok(kubes.every((k) => k.exports.size === 0));
    const warning = transport
      .records()
      .find((l) => /could not list the fleet memberships/.test(String(l.message)));
    assert.match(String(warning?.error), /UNAVAILABLE|503/);
  });

  it('a member it cannot connect to: one kube-connect failure for it, the others still tried', async () => {
    const { cloud, kubes } = fleetWithServices(2, 2, false);
    const connect = cloud.kube.connect;
    cloud.kube.connect = async (target) => {
      if (target.ref.name === 'c-1') throw kubeError(503, 'unavailable');
      return connect(target);
    };
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    const failures = result.records.filter((r) => r.outcome === 'failed');
    const connects = failures.filter((r) => r.step === 'kube-connect');
    assert.deepEqual(
      connects.map((r) => r.target),
      [`${PROJECT}/us-east4/c-1`],
    );
    assert.match(connects[0].reason ?? '', /unavailable/);
    // c-0 was tried too: its new export cannot be checked against an unreadable member, so it is withdrawn.
    assert.ok(
      failures.some((r) => r.step === 'exports' && r.target.startsWith(`${PROJECT}/us-east4/c-0`)),
      JSON.stringify(failures),
    );
    assert.ok(failures.every((r) => r.retryable === false));
    assert.equal(kubes[1].exports.size, 0);
  });

  it('a member whose Services cannot be listed: one exports failure naming it, the others reconciled', async () => {
    const { cloud, kubes } = fleetWithServices(2, 2, false);
    kubes[0].listServices = async () => {
      throw kubeError(500, 'boom');
    };
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    const failures = result.records.filter((r) => r.outcome === 'failed');
    assert.deepEqual(
      failures.map((r) => [r.step, r.target]),
      [['exports', `${PROJECT}/us-east4/c-0`]],
    );
    assert.match(failures[0].reason ?? '', /boom/);
    assert.equal(kubes[1].exports.size, 1);
  });

  it('a member that is not admitted (not VPC-native) is neither marked nor reconciled here', async () => {
    const cloud = new FakeCloud();
    const [ok, routes] = refs(2);
    for (const ref of [ok, routes]) {
      const name = `projects/fleet-host-prj/locations/global/memberships/${ref.name}`;
      cloud.memberships.set(name, {
        name,
        resourceLink: `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`,
        labels: {},
      });
    }
    cloud.addCluster(clusterInfo(ok)).addService('mcs-common', 'a', LABEL);
    const bad = cloud.addCluster(clusterInfo(routes, { vpcNative: false }));
    bad.addService('mcs-common', 'b', LABEL);
    const publisher = new RecordingPublisher();
    const { ctx } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    assert.deepEqual(publisher.published.map((r) => [r.cluster, r.exportsByParent ?? false]).sort(), [
      ['c-0', true],
      ['c-1', false],
    ]);
    assert.equal(bad.exports.size, 0);
  });

  it('a member whose exports cannot be listed fails here without bringing the request back', async () => {
    const { cloud, kubes } = fleetWithServices(2, 2, true);
    kubes[1].listServiceExports = async () => {
      throw kubeError(503, 'unavailable');
    };
    const publisher = new RecordingPublisher();
    const { ctx, transport } = testContext(cloud, { fanOut: { clustersPerMinute: 6000 } });
    const result = await reconcileRequest({ ...ctx, publisher }, { scope: 'fleet' });
    const failures = result.records.filter((r) => r.outcome === 'failed');
    assert.ok(failures.length > 0, JSON.stringify(result.records));
    assert.ok(failures.every((r) => r.retryable === false));
    assert.equal(transport.records().find((l) => l.summary === SUMMARY)?.willRetry, false);
    assert.equal(publisher.published.length, 2);
  });
});
