/**
 * Faults, in process against the local cloud with the production handlers:
 * - 20 % transient faults on every stand-in method: the model still holds after quiescence, by in-process retries
 *   and Pub/Sub-style redelivery of what the handler rethrew;
 * - 100 % transient faults on one API (or all) for a bounded time: the handler rethrows (no ack), claims nothing it
 *   did not do, and converges once the faults stop;
 * - permanent faults (403, 400) on each method the handlers call: acknowledged with a reason, at most 2 calls of
 *   the failing method per delivery (no retry storm);
 * - the in-process retry budget against the function timeout Terraform sets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultKind } from '../../sandbox/faults';
import { parseConfig } from '../../shared/config';
import { DEFAULT_RETRY, withRetry } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { grpcError } from '../fakes/errors';
import {
  CLUSTER_SLOTS,
  callCounts,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  deleteClusterNow,
  developerClients,
  diffCounts,
  EXPORT_LABEL,
  type Harness,
  PropertyEnv,
  type RelCloud,
  type Sequence,
  startRelCloud,
} from './harness';

const TRANSIENT: FaultKind[] = [
  'unavailable',
  'rate-limited',
  'internal',
  'aborted',
  'deadline',
  'reset',
  'peering-in-progress',
];

/** A sequence that touches every step: clusters in both projects, Services labelled, unlabelled and deleted, a deleted cluster. */
const RICH: Sequence = {
  byHand: true,
  deliverySeed: 7,
  ops: [
    { kind: 'createCluster', c: 0 },
    { kind: 'createCluster', c: 1 },
    { kind: 'createCluster', c: 2 },
    { kind: 'createCluster', c: 3 },
    { kind: 'deliver', n: 6, parallel: true },
    { kind: 'putService', c: 0, s: 0, labelled: true },
    { kind: 'putService', c: 1, s: 3, labelled: true },
    { kind: 'putService', c: 2, s: 2, labelled: true },
    { kind: 'putService', c: 2, s: 4, labelled: true },
    { kind: 'deliver', n: 6, parallel: true },
    { kind: 'setLabel', c: 0, s: 0, labelled: false },
    { kind: 'deleteService', c: 2, s: 2 },
    { kind: 'deleteCluster', c: 3 },
    { kind: 'reconcile', scope: 'project', c: 1 },
    { kind: 'deliver', n: 6, parallel: true },
  ],
};

describe('reliability: faults', function () {
  this.timeout(120_000);

  describe('20 % transient faults on every stand-in method', () => {
    let env: PropertyEnv;
    before(async () => {
      // A small budget makes in-process retries give up often, so Pub/Sub-style redelivery is exercised too.
      env = await PropertyEnv.start({ retryBudgetMs: 250 });
      env.faultRules = { '*': { errorRate: 0.2, faults: TRANSIENT } };
      env.parallelQuiesce = true;
    });
    after(async () => {
      await env?.close();
    });

    it('the model holds after quiescence (in-process retries + redelivery of rethrown events)', async () => {
      env.rel.cloud.faults.reseed(2024);
      env.rel.cloud.faults.resetCounters();
      const started = performance.now();
      const { violations, stats } = await env.run(RICH);
      const totals = env.rel.cloud.faults.totals();
      console.log(
        `      20 % faults: ${totals.faults} faults injected over ${totals.reads + totals.writes + totals.faults} calls, ` +
          `${stats.deliveries} deliveries, ${stats.nacks} redelivered after a rethrow, ${Math.round(performance.now() - started)} ms`,
      );
      assert.deepEqual(violations, []);
      assert.ok(totals.faults > 20, `faults were injected (${totals.faults})`);
      assert.ok(stats.nacks > 0, 'some events were rethrown and redelivered');
      assert.deepEqual(env.harness.logs.leaks, []);
    });
  });

  describe('100 % transient faults for a bounded time, one API at a time', () => {
    let rel: RelCloud;
    const BUDGET_MS = 250;
    const durations: Array<{ api: string; ms: number; failedSteps: number }> = [];
    /** Steps whose success claims were checked against the local cloud during an outage, over all APIs. */
    const claimsChecked = new Set<string>();
    before(async () => {
      rel = await startRelCloud();
    });
    after(async () => {
      await rel?.close();
      if (durations.length) {
        console.log(`      100 % faults, retryBudgetMs=${BUDGET_MS}: longest handler run per failing API`);
        for (const d of durations)
          console.log(
            `        ${d.api.padEnd(18)} ${String(Math.round(d.ms)).padStart(5)} ms, ${d.failedSteps} step(s) failed transiently`,
          );
      }
    });

    for (const api of ['container', 'gkehub', 'compute', 'resourcemanager', 'kube', '*']) {
      it(`${api === '*' ? 'every API' : api}: rethrown (not acked), nothing claimed that was not done, converges after`, async () => {
        // A cold instance: the project-number cache of a warm one would hide Resource Manager.
        const harness = createHarness(rel, { retryBudgetMs: BUDGET_MS });
        const ref: ClusterRef = {
          project: DEMO_PROJECT.id,
          location: 'us-east4',
          name: `f100-${api === '*' ? 'all' : api}`,
        };
        await createClusterNow(rel, ref, CLUSTER_SLOTS[1].spec);
        // A labelled Service already there, so the cluster reconcile has an export to claim (or not). One name per
        // test: the clusters of the earlier tests still export theirs, and at most 5 clusters may export one name.
        const service = `api-${ref.name.slice('f100-'.length)}`;
        const dev = developerClients(rel, ref);
        await dev.core.createNamespace({ body: { metadata: { name: 'mcs-common' } } });
        await dev.core.createNamespacedService({
          namespace: 'mcs-common',
          body: {
            metadata: { name: service, labels: { [EXPORT_LABEL]: 'true' } },
            spec: { ports: [{ port: 80 }] },
          },
        });
        const [created] = rel.sink.drain().filter((m) => {
          const text = m.data.toString();
          return (
            text.includes('ClusterManager.CreateCluster') &&
            text.includes('"last":true') &&
            text.includes(ref.name)
          );
        });
        const pattern = api === '*' ? '*' : `${api}.*`;
        rel.cloud.faults.setRule(pattern, { errorRate: 1, faults: TRANSIENT });
        const mark = harness.logs.lines.length;
        let result: Awaited<ReturnType<Harness['deliver']>>;
        const until = Date.now() + 400;
        let attempts = 0;
        let longest = 0;
        try {
          // Pub/Sub keeps redelivering while the API is down: every attempt must be rethrown.
          do {
            result = await harness.deliver(created);
            attempts++;
            longest = Math.max(longest, result.durationMs);
            assert.equal(result.acked, false, `attempt ${attempts} was acknowledged while ${pattern} fails`);
          } while (Date.now() < until);
        } finally {
          rel.cloud.faults.clearRules();
        }
        const records = harness.logs.records(mark).filter((r) => typeof r.step === 'string');
        const failed = records.filter((r) => r.outcome === 'failed');
        durations.push({
          api,
          ms: longest,
          failedSteps: failed.length / attempts,
        });
        assert.ok(failed.length > 0, 'some step failed');
        assert.ok(
          harness.logs.records(mark).some((r) => r.severity === 'WARNING' && r.reason === 'transient'),
          'a WARNING says the event will be redelivered',
        );
        for (const step of assertClaimsHold(rel, ref, records)) claimsChecked.add(step);
        // The outage ends: the next redelivery is acknowledged and the cluster is onboarded.
        const after = harness.logs.lines.length;
        assert.equal(await harness.deliverUntilAcked(created, { maxAttempts: 3 }), 1);
        assertOnboarded(rel, ref);
        assert.ok(
          rel.cloud.kube(ref).api.store.get('serviceexports', 'mcs-common', service),
          'exported after',
        );
        assertClaimsHold(
          rel,
          ref,
          harness.logs.records(after).filter((r) => typeof r.step === 'string'),
        );
        assert.deepEqual(harness.logs.leaks, []);
      });
    }

    it('during the outages, success claims of the peering and exports steps were checked too', () => {
      for (const step of ['workload-identity', 'membership', 'namespaces', 'peering', 'exports'])
        assert.ok(claimsChecked.has(step), `${step}: checked ${[...claimsChecked].join(', ')}`);
    });
  });

  describe('permanent faults (403, 400) on each method the handlers call', () => {
    let rel: RelCloud;
    let methods: string[] = [];
    const results: string[] = [];
    before(async () => {
      rel = await startRelCloud();
      // Which methods the handlers call in a full story (onboarding, export, refusal, unexport, offboarding):
      // the calls made while events were being delivered, never the developer's own.
      const called = new Set<string>();
      let before = callCounts(rel.cloud);
      await story(rel, createHarness(rel), 'perm-probe', (phase) => {
        if (phase === 'deliver') before = callCounts(rel.cloud);
        else for (const method of Object.keys(diffCounts(callCounts(rel.cloud), before))) called.add(method);
      });
      methods = [...called].sort();
    });
    after(async () => {
      await rel?.close();
      if (results.length) console.log(`      permanent faults: ${results.join('; ')}`);
    });

    it('covers every API the handlers call', () => {
      for (const api of ['container.', 'gkehub.', 'compute.', 'resourcemanager.', 'kube.'])
        assert.ok(
          methods.some((m) => m.startsWith(api)),
          `${api}* is called (${methods.join(', ')})`,
        );
    });

    for (const kind of ['permission-denied', 'invalid-argument'] as const) {
      it(`${kind}: every delivery acknowledged with a reason, ≤ 2 calls of the failing method per delivery`, async () => {
        let worst = 0;
        for (const [i, method] of methods.entries()) {
          // From a fleet without the MCS feature, as the probe started: features.create is reached once per fleet.
          for (const feature of rel.cloud.hub.store.list().features)
            rel.cloud.hub.store.deleteFeature(feature.name);
          const harness = createHarness(rel);
          const calls = await story(
            rel,
            harness,
            `perm-${kind === 'permission-denied' ? 'd' : 'i'}${i}`,
            (phase) => {
              if (phase === 'deliver') rel.cloud.faults.setRule(method, { errorRate: 1, faults: [kind] });
              else rel.cloud.faults.clearRules();
            },
            method,
          );
          for (const [phase, n] of Object.entries(calls.perPhase)) {
            assert.ok(n <= 2, `${method} called ${n} times while delivering ${phase}`);
            worst = Math.max(worst, n);
          }
          if (method === 'kube.serviceexports.list') {
            // By design: a member whose ServiceExports cannot be read holds a new export back (its exports may be
            // the ones that reach an MCS limit), redelivered rather than acknowledged without the export.
            assert.ok(calls.nacked.length > 0, `${method}: the new export is held back`);
            for (const nack of calls.nacked)
              assert.match(nack, /^Service labelled: .*failed transiently: exports /);
          } else assert.deepEqual(calls.nacked, [], `${method}: every delivery acknowledged`);
          if (calls.total > 0) {
            const status =
              kind === 'permission-denied'
                ? /403|PERMISSION_DENIED|forbidden|permission/i
                : /400|INVALID_ARGUMENT|BadRequest|invalid/i;
            const explained = harness.logs
              .records()
              .some(
                (r) =>
                  (r.severity === 'ERROR' || r.severity === 'WARNING') &&
                  status.test(`${r.reason} ${r.error ?? ''}`),
              );
            assert.ok(explained, `${method}: an ERROR/WARNING line gives the reason`);
          }
          assert.deepEqual(harness.logs.leaks, []);
        }
        results.push(
          `${kind}: ${methods.length} methods, at most ${worst} call(s) of the failing method per delivery`,
        );
      });
    }
  });

  describe('in-process retries against the function timeout', () => {
    it('one call: the default policy sleeps at most 16.2 s in 8 attempts, inside its 30 s budget', async () => {
      let clock = 0;
      let attempts = 0;
      const failing = grpcError(14, 'unavailable');
      await assert.rejects(
        withRetry(
          async () => {
            attempts++;
            throw failing;
          },
          {
            now: () => clock,
            sleep: async (ms) => {
              clock += ms;
            },
            random: () => 0.999_999,
          },
        ),
      );
      assert.equal(attempts, DEFAULT_RETRY.maxAttempts);
      // Σ min(5000, 200·2^(k-1)) for k = 1..7 = 200+400+800+1600+3200+5000+5000
      assert.equal(Math.round(clock / 100) * 100, 16_200);
      assert.ok(clock < DEFAULT_RETRY.budgetMs);
    });

    it('the function timeout Terraform sets is 540 s; the invocation deadline defaults to 480 s, inside it', () => {
      const variables = readFileSync(join(__dirname, '../../terraform/variables.tf'), 'utf8');
      const timeouts = [...variables.matchAll(/timeout_seconds\s*=\s*optional\(number,\s*(\d+)\)/g)].map(
        (m) => Number(m[1]),
      );
      assert.deepEqual(timeouts, [540, 540]);
      const config = parseConfig({
        fleetProject: DEMO_PROJECT.id,
        projects: [DEMO_PROJECT.id],
        spokes: [{ network: 'n' }],
      });
      assert.equal(config.retryBudgetMs, 30_000);
      assert.ok(config.invocationBudgetSeconds < Math.min(...timeouts));
    });

    describe('on the local cloud, with retryBudgetMs at its default (30 s) and the invocation deadline scaled to 1 s', () => {
      let rel: RelCloud;
      const DEADLINE_MS = 1_000;
      before(async () => {
        rel = await startRelCloud();
      });
      after(async () => {
        await rel?.close();
      });

      it('100 % faults on every Kubernetes call: rethrown by the deadline, not after (calls × 30 s)', async () => {
        // Twelve seed namespaces: twelve sequential calls, each of which alone could retry for 30 s.
        const namespaces = Array.from({ length: 12 }, (_, i) => `seed-${i}`);
        const harness = createHarness(
          rel,
          { retryBudgetMs: 30_000, namespaces },
          { patch: { invocationBudgetSeconds: DEADLINE_MS / 1000 } },
        );
        const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'deadline-a' };
        await createClusterNow(rel, ref, CLUSTER_SLOTS[0].spec);
        const created = rel.sink
          .drain()
          .find(
            (m) =>
              m.data.toString().includes('ClusterManager.CreateCluster') &&
              m.data.toString().includes('"last":true'),
          );
        assert.ok(created);
        rel.cloud.faults.setRule('kube.*', { errorRate: 1, faults: ['unavailable'] });
        let result: Awaited<ReturnType<Harness['deliver']>>;
        try {
          result = await harness.deliver(created);
        } finally {
          rel.cloud.faults.clearRules();
        }
        const failed = harness.logs.records().filter((r) => r.outcome === 'failed').length;
        console.log(
          `      100 % kube faults, ${failed} steps failed: handler rethrew after ${Math.round(result.durationMs)} ms ` +
            `(deadline ${DEADLINE_MS} ms); without a deadline the same run could take up to ${failed} × 30 s`,
        );
        assert.equal(result.acked, false);
        assert.ok(failed >= namespaces.length, `${failed} failed steps`);
        assert.ok(result.durationMs < DEADLINE_MS + 1_000, `${Math.round(result.durationMs)} ms`);
      });

      it('a slow call is cut at the deadline: the handler answers before it, naming the call', async () => {
        const harness = createHarness(
          rel,
          { retryBudgetMs: 30_000 },
          { patch: { invocationBudgetSeconds: DEADLINE_MS / 1000 } },
        );
        const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'deadline-b' };
        await createClusterNow(rel, ref, CLUSTER_SLOTS[0].spec);
        const created = rel.sink
          .drain()
          .find(
            (m) =>
              m.data.toString().includes('ClusterManager.CreateCluster') &&
              m.data.toString().includes('"last":true'),
          );
        assert.ok(created);
        rel.cloud.faults.setRule('gkehub.memberships.list', { latencyMs: 1_500 });
        let result: Awaited<ReturnType<Harness['deliver']>>;
        try {
          result = await harness.deliver(created);
        } finally {
          rel.cloud.faults.clearRules();
        }
        console.log(
          `      deadline ${DEADLINE_MS} ms, one 1,500 ms call in flight: the handler answered after ${Math.round(result.durationMs)} ms`,
        );
        assert.equal(result.acked, false);
        assert.ok(result.durationMs < DEADLINE_MS, `answered after ${Math.round(result.durationMs)} ms`);
        const named = harness.logs
          .records()
          .filter((r) => /gkehub\.memberships\.list did not answer within/.test(String(r.reason)));
        assert.equal(named.length, 1, 'one line names the call that was cut');
      });
    });
  });
});

interface StoryCalls {
  perPhase: Record<string, number>;
  total: number;
  nacked: string[];
}

/**
 * Create a cluster, export a Service, refuse one in `default`, unexport, delete the cluster — each event delivered
 * once with `toggle('deliver')` before and `toggle('act')` after, so faults hit only the handlers.
 */
async function story(
  rel: RelCloud,
  harness: Harness,
  name: string,
  toggle: (phase: 'deliver' | 'act') => void,
  method?: string,
): Promise<StoryCalls> {
  const out: StoryCalls = { perPhase: {}, total: 0, nacked: [] };
  const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name };
  const deliverAll = async (phase: string) => {
    const before = method ? (callCounts(rel.cloud)[method] ?? 0) : 0;
    toggle('deliver');
    try {
      for (const message of rel.sink.drain()) {
        const result = await harness.deliver(message);
        if (!result.acked) out.nacked.push(`${phase}: ${String(result.error)}`);
      }
    } finally {
      toggle('act');
    }
    const n = method ? (callCounts(rel.cloud)[method] ?? 0) - before : 0;
    out.perPhase[phase] = n;
    out.total += n;
  };
  await createClusterNow(rel, ref, CLUSTER_SLOTS[1].spec);
  await deliverAll('CreateCluster');
  const dev = developerClients(rel, ref);
  const store = rel.cloud.kube(ref).api.store;
  if (!store.get('namespaces', undefined, 'mcs-common'))
    await dev.core.createNamespace({ body: { metadata: { name: 'mcs-common' } } });
  for (const namespace of ['mcs-common', 'default'])
    await dev.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'api', labels: { [EXPORT_LABEL]: 'true' } },
        spec: { ports: [{ port: 80 }] },
      },
    });
  await deliverAll('Service labelled');
  await dev.core.deleteNamespacedService({ namespace: 'mcs-common', name: 'api' });
  await deliverAll('Service deleted');
  await deleteClusterNow(rel, ref);
  await deliverAll('DeleteCluster');
  return out;
}

/**
 * Every step record that claims the desired state must be true of the local cloud. Returns the steps whose claims
 * were checked, so a test can tell that a step it means to cover was reached.
 */
function assertClaimsHold(
  rel: RelCloud,
  ref: ClusterRef,
  records: Array<Record<string, unknown>>,
): Set<string> {
  const done = new Set(['created', 'updated', 'unchanged']);
  const checked = new Set<string>();
  const cluster = rel.cloud.container.store.getCluster(ref) as unknown as {
    workloadIdentityConfig?: { workloadPool?: string };
    nodePools: Array<{ config: { workloadMetadataConfig: { mode: string } } }>;
    network: string;
    privateClusterConfig?: { peeringName?: string };
  };
  const link = `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
  const kube = rel.cloud.kube(ref).api.store;
  for (const r of records) {
    if (r.step === 'exports') {
      // `ns/name` ends the target; "exported…" is the reason of an unchanged record that found the export there.
      const [namespace, name] = String(r.target).split('/').slice(-2);
      const found = kube.get('serviceexports', namespace, name);
      if (r.outcome === 'created' || (r.outcome === 'unchanged' && /^exported/.test(String(r.reason)))) {
        assert.ok(found, `claimed ServiceExport ${namespace}/${name}`);
        checked.add('exports');
      } else if (r.outcome === 'deleted') {
        assert.equal(found, undefined, `claimed ServiceExport ${namespace}/${name} deleted`);
        checked.add('exports');
      }
      continue;
    }
    if (!done.has(String(r.outcome))) continue;
    checked.add(String(r.step));
    switch (r.step) {
      case 'workload-identity':
        assert.equal(
          cluster.workloadIdentityConfig?.workloadPool,
          `${ref.project}.svc.id.goog`,
          'claimed WI',
        );
        break;
      case 'node-pools':
        assert.ok(
          cluster.nodePools.every((p) => p.config.workloadMetadataConfig.mode === 'GKE_METADATA'),
          'claimed node pools',
        );
        break;
      case 'membership':
        assert.ok(
          rel.cloud.hub.store.list().memberships.some((m) => m.endpoint?.gkeCluster?.resourceLink === link),
          'claimed membership',
        );
        break;
      case 'mcs-feature':
        assert.ok(rel.cloud.hub.store.list().features.length > 0, 'claimed MCS feature');
        break;
      case 'namespaces':
        assert.ok(kube.get('namespaces', undefined, 'mcs-common'), 'claimed namespace');
        break;
      case 'peering': {
        const peering = rel.cloud.compute.store
          .getNetwork(ref.project, cluster.network)
          ?.peerings?.find((p) => p.name === cluster.privateClusterConfig?.peeringName);
        assert.equal(peering?.exportCustomRoutes, true, 'claimed peering exports custom routes');
        break;
      }
    }
  }
  return checked;
}

function assertOnboarded(rel: RelCloud, ref: ClusterRef): void {
  const link = `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
  const cluster = rel.cloud.container.store.getCluster(ref) as unknown as {
    workloadIdentityConfig?: { workloadPool?: string };
  };
  assert.equal(cluster.workloadIdentityConfig?.workloadPool, `${ref.project}.svc.id.goog`);
  assert.equal(
    rel.cloud.hub.store.list().memberships.filter((m) => m.endpoint?.gkeCluster?.resourceLink === link)
      .length,
    1,
  );
  assert.ok(rel.cloud.kube(ref).api.store.get('namespaces', undefined, 'mcs-common'));
}
