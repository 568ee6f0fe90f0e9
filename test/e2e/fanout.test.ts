/**
 * Fan-out at fleet scale, end to end: 200 spoke clusters in the local cloud (each with its own Kubernetes API), both
 * functions under functions-framework serving the built bundle, and the sandbox's event path between them — direct
 * delivery, then the Pub/Sub emulator's push subscriptions. One fleet request makes the reconcile function publish
 * one cluster request per cluster to the reconcile topic (@google-cloud/pubsub, to the Publish stand-in or the
 * emulator); each is delivered back and reconciled in an invocation of its own. A second fleet request then finds
 * nothing to write.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PublishedMessage } from '../../sandbox/audit/delivery';
import { DEMO_PROJECT, DEMO_PROJECT_2, type Sandbox, SPOKES, startSandbox } from '../../sandbox/harness';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import { until } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { refString } from '../../shared/reconcile/names';
import { SUMMARY } from '../../shared/reconcile/request';
import { type Counters, writesSince } from './helpers';

const FLEET_SIZE = 200;
const ROOT = join(__dirname, '../..');
/** Each suite (sandbox start, seeding, both requests) must stay well inside this on 2 shared cores. */
const BUDGET_MS = 90_000;

/** Cluster i: alternating projects and spoke VPCs, in a region or a zone. */
function fleetRef(i: number): ClusterRef {
  return {
    project: i % 2 ? DEMO_PROJECT_2.id : DEMO_PROJECT.id,
    location: i % 3 === 0 ? 'us-east4-b' : 'us-east4',
    name: `fan-${String(i).padStart(3, '0')}`,
  };
}

function fleetSpec(i: number) {
  const network = SPOKES[Math.floor(i / 2) % SPOKES.length];
  return {
    network,
    subnetwork: network,
    ipAllocationPolicy: { useIpAliases: true },
    privateClusterConfig: { enablePrivateNodes: true },
    initialNodeCount: 1,
  };
}

const decode = (message: PublishedMessage) =>
  JSON.parse(message.data.toString('utf8')) as Record<string, unknown>;

for (const delivery of ['direct', 'pubsub'] as const) {
  describe(`e2e: a fleet request fans out over ${FLEET_SIZE} clusters (${delivery} delivery)`, function () {
    this.timeout(BUDGET_MS);
    let sandbox: Sandbox;
    const refs = Array.from({ length: FLEET_SIZE }, (_, i) => fleetRef(i));
    const expected = refs.map(refString).sort();
    /** Direct delivery: every message the reconcile topic accepted, the fleet requests and the cluster requests. */
    const accepted: PublishedMessage[] = [];
    let started = 0;
    const timings: string[] = [];

    before(async function () {
      if (delivery === 'pubsub' && !emulatorAvailable()) this.skip();
      started = performance.now();
      assert.ok(
        existsSync(join(ROOT, 'dist/index.js')),
        'dist/index.js is missing: run `npm run build` before the e2e tests',
      );
      sandbox = await startSandbox({
        delivery,
        // Published at once: pacing is proven by the unit tests; here it would only make the test slow.
        config: { fanOut: { clustersPerMinute: 60_000 }, retryBudgetMs: 2_000 },
        provisionDelayMs: 1,
      });
      const topic = sandbox.reconcileDelivery;
      if (topic) {
        // Observe, not change, what the topic receives: the Publish stand-in hands each message to `accept`.
        const accept = topic.accept.bind(topic);
        topic.accept = (message) => {
          accepted.push(message);
          return accept(message);
        };
      }
      const seeding = performance.now();
      // Seeded RUNNING clusters: no audit entry, so only the fleet request can onboard them.
      for (const [i, ref] of refs.entries())
        await sandbox.cloud.container.store.seedCluster(ref, fleetSpec(i));
      timings.push(`seeded ${FLEET_SIZE} clusters in ${Math.round(performance.now() - seeding)} ms`);
    });

    after(async () => {
      await sandbox?.stop();
      if (started)
        console.log(
          `      ${delivery}: ${timings.join('; ')}; whole suite ${Math.round(performance.now() - started)} ms ` +
            '(2 shared cores)',
        );
    });

    const summaries = (requestId: string) =>
      sandbox.reconcile.logs.filter((l) => l.summary === SUMMARY && l.requestId === requestId);
    const doneLines = (requestId: string) => summaries(requestId).filter((l) => l.stage === 'done');

    /** Sends a fleet request and waits until every cluster request it published has been answered. */
    async function fleetRequest(requestId: string): Promise<void> {
      const t0 = performance.now();
      await sandbox.requestReconcile({ scope: 'fleet', requestId });
      if (delivery === 'direct') await sandbox.settle();
      else {
        // The emulator's deliveries are not tracked here: wait for the summaries, then a moment for any
        // duplicate to show.
        await until(() => doneLines(requestId).length >= FLEET_SIZE, `${FLEET_SIZE} done summaries`, 75_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      timings.push(`${requestId} settled in ${Math.round(performance.now() - t0)} ms`);
    }

    it('publishes one cluster request per cluster, each reconciled in its own invocation: all onboarded', async () => {
      assert.equal(sandbox.cloud.kubes.size, FLEET_SIZE);
      assert.equal(
        sandbox.audit.logs.filter((l) => l.step).length,
        0,
        'nothing onboarded before the request',
      );
      await fleetRequest('fanout-200');

      const fannedOut = summaries('fanout-200').filter((l) => l.stage === 'fanned-out');
      assert.equal(fannedOut.length, 1, 'one fan-out summary');
      assert.equal(fannedOut[0].scope, 'fleet');
      assert.equal(fannedOut[0].clusters, FLEET_SIZE);
      assert.deepEqual([...(fannedOut[0].published as string[])].sort(), expected);
      assert.equal(fannedOut[0].willRetry, false);

      if (delivery === 'direct') {
        // What reached the topic: the fleet request, then each cluster request exactly once, with the request id.
        const clusterRequests = accepted.map(decode).filter((r) => r.scope === 'cluster');
        assert.equal(clusterRequests.length, FLEET_SIZE, 'cluster requests published');
        const published = clusterRequests.map((r) => `${r.project}/${r.location}/${r.cluster}`).sort();
        assert.deepEqual(published, expected, 'each cluster published exactly once');
        assert.ok(clusterRequests.every((r) => r.requestId === 'fanout-200' && r.dryRun === undefined));
        // Every delivery answered 2xx at the first attempt: no redelivery stands in for a lost request.
        const attempts = sandbox.reconcileDelivery?.attempts ?? [];
        assert.equal(attempts.length, FLEET_SIZE + 1);
        assert.ok(attempts.every((a) => a.acked && a.attempt === 1));
      }

      // One `done` summary per cluster, from an invocation of its own, none with a problem: a cluster request
      // published twice would show as a second line for its cluster.
      const done = doneLines('fanout-200');
      assert.equal(done.length, FLEET_SIZE);
      assert.ok(done.every((l) => l.scope === 'cluster' && l.clusters === 1));
      assert.deepEqual(done.map((l) => String(l.target)).sort(), expected);
      const problems = done.filter((l) => l.problems !== 0 || l.willRetry !== false);
      assert.deepEqual(problems, []);

      // Every cluster onboarded: a managed membership naming it, and the seeded namespace.
      const members = sandbox.cloud.hub.store
        .list()
        .memberships.filter((m) => m.labels?.['managed-by'] === 'spokefleet')
        .map((m) => m.endpoint?.gkeCluster?.resourceLink);
      assert.equal(members.length, FLEET_SIZE);
      for (const ref of refs) {
        const link = `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
        assert.ok(members.includes(link), `membership for ${refString(ref)}`);
        assert.ok(
          sandbox.cloud.kube(ref).api.store.get('namespaces', undefined, 'mcs-common'),
          `mcs-common in ${refString(ref)}`,
        );
      }
    });

    it('a second fleet request fans out again and writes nothing but the publish', async () => {
      const before: Counters = sandbox.cloud.faults.counters();
      const from = accepted.length;
      await fleetRequest('fanout-200-again');

      const { 'pubsub.topics.publish': publishes, ...writes } = writesSince(sandbox, before);
      assert.deepEqual(writes, {});
      if (delivery === 'direct') {
        assert.ok(publishes > 0, 'the fan-out published through the Publish stand-in');
        assert.equal(accepted.slice(from).filter((m) => decode(m).scope === 'cluster').length, FLEET_SIZE);
      }
      const done = doneLines('fanout-200-again');
      assert.equal(done.length, FLEET_SIZE);
      assert.deepEqual(done.map((l) => String(l.target)).sort(), expected);
      const wrote = done.filter((l) => {
        const outcomes = l.outcomes as Record<string, number>;
        return Object.keys(outcomes).some((o) => !['unchanged', 'skipped'].includes(o));
      });
      assert.deepEqual(wrote, [], 'every cluster unchanged or skipped');
    });

    it('labelled Services are exported by the invocation that fans out, listing each member once per request', async () => {
      // Labelled without an audit entry: only a fleet request can export them.
      const labelled = refs.filter((_, i) => i % 20 === 0);
      for (const [i, ref] of labelled.entries()) {
        sandbox.cloud.kube(ref).api.store.put({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `web-${i}`, namespace: 'mcs-common', labels: { 'spokefleet.io/export': 'true' } },
          spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
        });
      }
      // One name exported by 7 members at once (as concurrent label events could leave it): the limit is 5.
      const crowded = refs.filter((_, i) => i % 20 === 1).slice(0, 7);
      for (const ref of crowded) {
        const api = sandbox.cloud.kube(ref).api;
        const metadata = { name: 'crowded', namespace: 'mcs-common' };
        api.store.put({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { ...metadata, labels: { 'spokefleet.io/export': 'true' } },
          spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
        });
        api.store.put({
          apiVersion: 'net.gke.io/v1',
          kind: 'ServiceExport',
          metadata: {
            ...metadata,
            labels: { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' },
          },
        });
      }
      await fleetRequest('fanout-200-exports');
      const kept = crowded.filter((ref) =>
        sandbox.cloud.kube(ref).api.store.get('serviceexports', 'mcs-common', 'crowded'),
      );
      assert.equal(kept.length, 5, 'the recount withdrew the exports beyond the limit');
      const fannedOut = summaries('fanout-200-exports').find((l) => l.stage === 'fanned-out');
      assert.equal(fannedOut?.exportsReconciledHere, FLEET_SIZE);
      for (const [i, ref] of labelled.entries()) {
        assert.ok(
          sandbox.cloud.kube(ref).api.store.get('serviceexports', 'mcs-common', `web-${i}`),
          `web-${i} exported in ${refString(ref)}`,
        );
      }
      // The cluster requests left the exports to their parent.
      const done = doneLines('fanout-200-exports');
      assert.equal(done.length, FLEET_SIZE);
      assert.ok(done.every((l) => (l.outcomes as Record<string, number>).created === undefined));

      // The periodic reconcile of this fleet: one list of ServiceExports per member for the whole request (done in
      // every cluster's own invocation, the recount read every member for every cluster: 200 × 200).
      const before: Counters = sandbox.cloud.faults.counters();
      await fleetRequest('fanout-200-periodic');
      // Health Events may still change as the exports get imported; nothing else is written.
      const {
        'pubsub.topics.publish': _p,
        'kube.events.create': _e,
        ...writes
      } = writesSince(sandbox, before);
      assert.deepEqual(writes, {});
      const lists =
        (sandbox.cloud.faults.counters()['kube.serviceexports.list']?.calls ?? 0) -
        (before['kube.serviceexports.list']?.calls ?? 0);
      assert.equal(lists, FLEET_SIZE);

      const total = performance.now() - started;
      assert.ok(total < BUDGET_MS, `the whole suite took ${Math.round(total)} ms`);
    });
  });
}
