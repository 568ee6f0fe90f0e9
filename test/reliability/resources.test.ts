/**
 * Resource behaviour:
 * - a fleet reconcile of 100 clusters, run in a child process that holds only the function (createApp on the real
 *   adapters; the 100 Kubernetes APIs and the other stand-ins stay in this process), peaks under 256 MiB RSS;
 * - 1,000 events through the production handler leave no socket or handle behind: the Kubernetes clients made per
 *   event are released.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { serviceAuditEntry } from '../../sandbox/audit/entries';
import { sandboxConfig } from '../../sandbox/harness';
import type { ClusterRef } from '../../shared/events/types';
import {
  activeResources,
  auditMessage,
  CLUSTER_SLOTS,
  cloudEventFor,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  developerClients,
  EXPORT_LABEL,
  FORBIDDEN_IN_LOGS,
  type RelCloud,
  reconcileMessage,
  startRelCloud,
  writeCounts,
} from './harness';

const FLEET_SIZE = 100;
/**
 * A fleet reconcile runs in one process only without a reconcile topic, in onReconcileRequest (1 GiB by default;
 * the audit function has 512 MiB). 320 MiB keeps more than a third of the smaller one free; what the steps read per
 * cluster (operations, the fleet's exports after a create, export health) moves the peak, so it is a budget, and a
 * leak is caught below by the heap after the steady-state run.
 */
const LIMIT_MIB = 320;
const ROOT = join(__dirname, '../..');

interface ChildFigures {
  baselineRssMiB: number;
  runs: Array<{
    ms: number;
    peakRssMiB: number;
    rssAfterMiB: number;
    heapUsedAfterMiB: number;
    acked: boolean;
  }>;
}

/**
 * The deployed artifact in a process of its own, as functions-framework runs it: dist/index.js loaded with
 * SPOKEFLEET_CONFIG, its registered onReconcileRequest called with `{"scope":"fleet"}` `runs` times. RSS is sampled
 * every 5 ms. Nothing else lives in that process: the 100 Kubernetes APIs and the other stand-ins stay here.
 */
const CHILD = `
const { getFunction } = require('@google-cloud/functions-framework/testing');
require(process.env.BUNDLE);
const fn = getFunction('onReconcileRequest');
const MiB = 1024 * 1024;
(async () => {
  global.gc();
  const baselineRssMiB = Math.round(process.memoryUsage().rss / MiB);
  const runs = [];
  for (let i = 0; i < Number(process.env.RUNS); i++) {
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
    const started = performance.now();
    let acked = true;
    try { await fn(JSON.parse(process.env.EVENT)); } catch { acked = false; }
    const ms = Math.round(performance.now() - started);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    global.gc();
    const m = process.memoryUsage();
    runs.push({ ms, peakRssMiB: Math.round(peak / MiB), rssAfterMiB: Math.round(m.rss / MiB), heapUsedAfterMiB: Math.round(m.heapUsed / MiB), acked });
  }
  process.stdout.write('@@' + JSON.stringify({ baselineRssMiB, runs }) + '\\n');
  process.exit(0);
})();
`;

function runChild(env: Record<string, string>): Promise<ChildFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-e', CHILD], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: 'sandbox',
        BUNDLE: join(ROOT, 'dist/index.js'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@'));
      if (code !== 0 || !line) reject(new Error(`child exited with ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(2)) as ChildFigures);
      // The function's own log lines (stdout, JSON) must not carry a token either.
      const leaked = FORBIDDEN_IN_LOGS.filter((secret) => out.includes(secret) || err.includes(secret));
      if (leaked.length) reject(new Error(`the function's output contains ${leaked.join(', ')}`));
    });
  });
}

/** `npm run build` unless dist/index.js is newer than every source file (npm test builds first anyway). */
function ensureBundle(): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return Math.max(latest, newest(full));
      return entry.name.endsWith('.ts') ? Math.max(latest, statSync(full).mtimeMs) : latest;
    }, 0);
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/index.js')).mtimeMs;
  } catch {}
  if (built > Math.max(newest(join(ROOT, 'functions')), newest(join(ROOT, 'shared')))) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
}

describe('reliability: resources', function () {
  this.timeout(180_000);

  describe(`a fleet reconcile of ${FLEET_SIZE} clusters`, () => {
    let rel: RelCloud;
    before(async () => {
      rel = await startRelCloud();
      for (let i = 0; i < FLEET_SIZE; i++) {
        const slot = CLUSTER_SLOTS[i % 3];
        const ref: ClusterRef = {
          project: i % 2 ? DEMO_PROJECT_2.id : DEMO_PROJECT.id,
          location: slot.location,
          name: `fleet-${i}`,
        };
        await rel.cloud.container.store.seedCluster(ref, slot.spec as never);
        // A user namespace with a labelled Service in every cluster: exports, and limit refusals with Events.
        const store = rel.cloud.kube(ref).api.store;
        store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
        store.put({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `web-${i % 60}`, namespace: 'team-a', labels: { [EXPORT_LABEL]: 'true' } },
          spec: { ports: [{ port: 80 }] },
        });
      }
    });
    after(async () => {
      await rel?.close();
    });

    it(`onboards them all, then repairs nothing, each run under ${LIMIT_MIB} MiB RSS of the function's process`, async () => {
      ensureBundle();
      const config = sandboxConfig(rel.cloud, { concurrency: 8, retryBudgetMs: 5_000, logLevel: 'info' });
      const figures = await runChild({
        SPOKEFLEET_CONFIG: JSON.stringify(config),
        EVENT: JSON.stringify(cloudEventFor(reconcileMessage({ scope: 'fleet', requestId: 'resources' }))),
        RUNS: '2',
      });
      console.log(
        `      ${FLEET_SIZE} clusters, concurrency 8: baseline RSS ${figures.baselineRssMiB} MiB; ` +
          figures.runs
            .map(
              (r, i) =>
                `run ${i + 1} (${i === 0 ? 'onboarding' : 'steady state'}) ${r.ms} ms, peak RSS ${r.peakRssMiB} MiB, ` +
                `heap after ${r.heapUsedAfterMiB} MiB`,
            )
            .join('; '),
      );
      assert.deepEqual(
        figures.runs.map((r) => r.acked),
        [true, true],
      );
      for (const run of figures.runs) assert.ok(run.peakRssMiB < LIMIT_MIB, `peak RSS ${run.peakRssMiB} MiB`);
      // Nothing kept from the onboarding run: the steady-state run ends with about the same live heap.
      const [first, second] = figures.runs;
      assert.ok(
        second.heapUsedAfterMiB <= first.heapUsedAfterMiB + 8,
        `heap after run 2 ${second.heapUsedAfterMiB} MiB vs ${first.heapUsedAfterMiB} MiB after run 1`,
      );
      // The work was real: every cluster is a fleet member and has mcs-common.
      const members = rel.cloud.hub.store
        .list()
        .memberships.filter((m) => m.labels?.['managed-by'] === 'spokefleet');
      assert.equal(members.length, FLEET_SIZE);
      for (let i = 0; i < FLEET_SIZE; i += 17) {
        const slot = CLUSTER_SLOTS[i % 3];
        const ref = {
          project: i % 2 ? DEMO_PROJECT_2.id : DEMO_PROJECT.id,
          location: slot.location,
          name: `fleet-${i}`,
        };
        assert.ok(rel.cloud.kube(ref).api.store.get('namespaces', undefined, 'mcs-common'), ref.name);
      }
    });
  });

  describe('1,000 events', () => {
    let rel: RelCloud;
    const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'resources-a' };
    before(async () => {
      rel = await startRelCloud();
    });
    after(async () => {
      await rel?.close();
    });

    it('leave no socket or handle behind (the per-event Kubernetes clients are released)', async () => {
      const harness = createHarness(rel, { retryBudgetMs: 2_000 }, { logLevel: 'info' });
      await createClusterNow(rel, ref, CLUSTER_SLOTS[0].spec);
      for (const message of rel.sink.drain()) await harness.deliverUntilAcked(message);
      const dev = developerClients(rel, ref);
      for (const [i, name] of ['a', 'b', 'c', 'd'].entries())
        await dev.core.createNamespacedService({
          namespace: 'mcs-common',
          body: {
            metadata: { name, labels: i % 2 ? {} : { [EXPORT_LABEL]: 'true' } },
            spec: { ports: [{ port: 80 }] },
          },
        });
      for (const message of rel.sink.drain()) await harness.deliverUntilAcked(message);
      // Warm: one event of each kind has run, so lazily made clients exist before the first count.
      const events = Array.from({ length: 1_000 }, (_, i) =>
        auditMessage(
          serviceAuditEntry({
            verb: (['create', 'patch', 'update', 'delete'] as const)[i % 4],
            cluster: ref,
            namespace: 'mcs-common',
            name: ['a', 'b', 'c', 'd', 'gone'][i % 5],
            principal: 'developer@example.com',
          }),
        ),
      );
      // Warm-up: the connection pools fill to the concurrency used, then stay that size.
      for (let i = 0; i < 200; i += 8)
        await Promise.all(events.slice(i, i + 8).map((m) => harness.deliver(m)));
      await settle();
      const before = activeResources();
      const writes = writeCounts(rel.cloud);
      const started = performance.now();
      for (let i = 0; i < events.length; i += 8) {
        const results = await Promise.all(events.slice(i, i + 8).map((m) => harness.deliver(m)));
        assert.ok(results.every((r) => r.acked));
      }
      const ms = performance.now() - started;
      const during = activeResources();
      await settle();
      const after = activeResources();
      console.log(
        `      1,000 events in ${Math.round(ms)} ms (8 at a time); active resources before ${JSON.stringify(before)}, ` +
          `right after ${JSON.stringify(during)}, settled ${JSON.stringify(after)}`,
      );
      assert.deepEqual(writeCounts(rel.cloud), writes, 'steady state: reads only');
      const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      assert.ok(total(after) <= total(before) + 4, `handles: ${total(before)} before, ${total(after)} after`);
      // A client socket, TLS or not, is a `TCPSocketWrap` in getActiveResourcesInfo(); the warm pools hold some, so
      // a name that Node does not report (and that would always count 0) fails here first.
      assert.ok((before.TCPSocketWrap ?? 0) > 0, `warm pools hold client sockets: ${JSON.stringify(before)}`);
      assert.ok(
        (after.TCPSocketWrap ?? 0) <= before.TCPSocketWrap + 2,
        `client sockets: ${before.TCPSocketWrap} → ${after.TCPSocketWrap ?? 0}`,
      );
    });
  });
});

/** Lets closing sockets finish closing. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}
