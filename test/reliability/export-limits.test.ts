/**
 * The MCS limits, an unreadable member cluster, and two deployments sharing a fleet, through the wire: the local
 * cloud's stand-ins (GKE, Hub, Connect gateway, one Kubernetes API server per cluster) spoken to by the real client
 * libraries, and the production handlers (createApp) fed the audit entries the stand-ins emit. Label events are
 * delivered all at once, as separate function invocations would run them.
 */
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { FaultInjector } from '../../sandbox/faults';
import type { ClusterRef } from '../../shared/events/types';
import {
  CLUSTER_SLOTS,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  type DeveloperClients,
  developerClients,
  EXPORT_LABEL,
  type Harness,
  type RelCloud,
  reconcileMessage,
  startRelCloud,
} from './harness';

const NS = 'mcs-common';
const MCS = { group: 'net.gke.io', version: 'v1', plural: 'serviceexports' } as const;
const LIMITS = { maxClustersPerService: 5, maxServicesPerFleet: 5 };
const CLUSTERS: ClusterRef[] = Array.from({ length: 8 }, (_, i) => ({
  project: DEMO_PROJECT.id,
  location: 'us-east4',
  name: `lim-${i + 1}`,
}));

describe('reliability: MCS limits and ownership through the wire', function () {
  this.timeout(120_000);
  let rel: RelCloud;
  let a: Harness;
  let b: Harness;
  const dev = new Map<string, DeveloperClients>();
  const developer = (ref: ClusterRef) => {
    let clients = dev.get(ref.name);
    if (!clients) {
      clients = developerClients(rel, ref);
      dev.set(ref.name, clients);
    }
    return clients;
  };
  const exportsOf = (name: string) =>
    CLUSTERS.filter((ref) => rel.cloud.kube(ref).api.store.get('serviceexports', NS, name) !== undefined);
  const refusals = (ref: ClusterRef, name: string) =>
    (
      rel.cloud.kube(ref).api.store.list('events', NS) as unknown as Array<{
        reason: string;
        involvedObject: { name: string };
        message: string;
      }>
    ).filter((e) => e.reason === 'ExportRefused' && e.involvedObject.name === name);

  /** Everything the stand-ins emitted so far, each delivered at the same time, redelivered until acknowledged. */
  const deliverAll = (harness: Harness) =>
    Promise.all(
      rel.sink.drain().map((m) => harness.deliverUntilAcked(m, { maxAttempts: 30, backoffMs: 50 })),
    );

  async function labelledService(ref: ClusterRef, name: string, labelled = true): Promise<void> {
    await developer(ref).core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name, namespace: NS, labels: labelled ? { [EXPORT_LABEL]: 'true' } : {} },
        spec: { selector: { app: name }, ports: [{ port: 80 }] },
      },
    });
  }

  before(async () => {
    rel = await startRelCloud();
    a = createHarness(rel, { owner: 'fleet-a', limits: LIMITS }, { logLevel: 'info' });
    b = createHarness(rel, { owner: 'fleet-b', limits: LIMITS }, { logLevel: 'info' });
    const spec = CLUSTER_SLOTS[0].spec;
    await Promise.all(CLUSTERS.map((ref) => createClusterNow(rel, ref, spec)));
    await deliverAll(a); // onboarding: memberships, the MCS feature, namespaces
    for (const ref of CLUSTERS)
      assert.ok(rel.cloud.kube(ref).api.store.get('namespaces', undefined, NS), ref.name);
  });
  after(async () => {
    await rel?.close();
  });

  it('a member whose ServiceExports answer 403 holds a new export back (not acknowledged, the member named) until it can be read', async () => {
    // One cluster's own fault injector (the local cloud shares one between all clusters).
    const faults = new FaultInjector();
    faults.setRule('kube.serviceexports.list', { errorRate: 1, faults: ['permission-denied'] });
    const api = rel.cloud.kube(CLUSTERS[7]).api as unknown as { options: { faults: FaultInjector } };
    const shared = api.options.faults;
    api.options.faults = faults;
    try {
      await labelledService(CLUSTERS[0], 'solo');
      const message = rel.sink.drain().find((m) => String(m.data).includes('services/solo'));
      assert.ok(message, 'the audit entry of the Service create');
      const first = await a.deliver(message);
      assert.equal(first.acked, false, 'never acknowledged without the export');
      assert.deepEqual(exportsOf('solo'), []);
      const line = a.logs.records().find((r) => r.outcome === 'failed' && /solo/.test(String(r.target)));
      assert.match(
        String(line?.reason),
        new RegExp(
          `could not read the ServiceExports of member cluster ${DEMO_PROJECT.id}/us-east4/lim-8 .*forbidden`,
        ),
      );
      api.options.faults = shared;
      assert.equal((await a.deliver(message)).acked, true);
      assert.deepEqual(exportsOf('solo'), [CLUSTERS[0]]);
    } finally {
      api.options.faults = shared;
    }
  });

  it('8 clusters label one Service at once: 5 ServiceExports (the limit), 3 refused with an Event', async () => {
    for (const ref of CLUSTERS) await labelledService(ref, 'shared');
    await deliverAll(a);
    assert.equal(exportsOf('shared').length, 5);
    const refused = CLUSTERS.filter((ref) => !exportsOf('shared').includes(ref));
    for (const ref of refused) {
      const events = refusals(ref, 'shared');
      assert.equal(events.length, 1, ref.name);
      assert.match(events[0].message, /already exported by 5 clusters, the MCS limit is 5/);
    }
  });

  it('8 new Services labelled at once with 2 exported: 5 distinct Services (the limit), 5 refused', async () => {
    for (const ref of CLUSTERS) await labelledService(ref, `new-${ref.name}`);
    await deliverAll(a);
    const exported = CLUSTERS.filter((ref) => exportsOf(`new-${ref.name}`).length > 0);
    assert.equal(exported.length, 3);
    for (const ref of CLUSTERS.filter((r) => !exported.includes(r))) {
      assert.match(refusals(ref, `new-${ref.name}`)[0]?.message ?? '', /the MCS limit is 5/);
    }
  });

  it('a fleet reconcile afterwards withdraws nothing within the limits and creates nothing beyond them', async () => {
    const before = CLUSTERS.map((ref) => rel.cloud.kube(ref).api.store.list('serviceexports', NS).length);
    assert.equal((await a.deliver(reconcileMessage({ scope: 'fleet' }))).acked, true);
    assert.deepEqual(
      CLUSTERS.map((ref) => rel.cloud.kube(ref).api.store.list('serviceexports', NS).length),
      before,
    );
  });

  it('the fleet reconcile withdraws managed exports beyond a limit, newest first, with the refusal Event', async () => {
    // Over the limit as racing invocations of an older version could leave it: the 3 clusters refused above get a
    // managed export of `shared` anyway, a second apart (creation timestamps have second precision).
    const within = exportsOf('shared');
    const beyond = CLUSTERS.filter((ref) => !within.includes(ref));
    for (const ref of beyond) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await developer(ref).custom.createNamespacedCustomObject({
        ...MCS,
        namespace: NS,
        body: {
          apiVersion: 'net.gke.io/v1',
          kind: 'ServiceExport',
          metadata: {
            name: 'shared',
            namespace: NS,
            labels: { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'fleet-a' },
          },
        },
      });
    }
    assert.equal(exportsOf('shared').length, 8);
    rel.sink.drain();
    assert.equal((await a.deliver(reconcileMessage({ scope: 'fleet' }))).acked, true);
    assert.deepEqual(exportsOf('shared'), within);
    const withdrawn = a.logs
      .records()
      .filter((r) => r.outcome === 'deleted' && /withdrawn, beyond the MCS limits/.test(String(r.reason)));
    assert.deepEqual(
      withdrawn.map((r) => String(r.target).split('/')[2]).sort(),
      beyond.map((r) => r.name).sort(),
    );
    for (const ref of beyond) assert.equal(refusals(ref, 'shared').length, 1, ref.name);
  });

  it("two deployments sharing the fleet never delete each other's ServiceExports", async () => {
    const owner = exportsOf('shared')[0];
    const created = rel.cloud.kube(owner).api.store.get('serviceexports', NS, 'shared');
    assert.equal(created?.metadata.labels?.['spokefleet.io/owner'], 'fleet-a');
    await developer(owner).core.patchNamespacedService(
      { name: 'shared', namespace: NS, body: { metadata: { labels: { [EXPORT_LABEL]: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const messages = rel.sink.drain();
    for (const m of messages) assert.equal((await b.deliver(m)).acked, true);
    assert.equal((await b.deliver(reconcileMessage({ scope: 'fleet' }))).acked, true);
    assert.ok(exportsOf('shared').includes(owner), 'deployment fleet-b left fleet-a’s export alone');
    for (const m of messages) assert.equal((await a.deliver(m)).acked, true);
    assert.ok(!exportsOf('shared').includes(owner), 'deployment fleet-a deleted its own');
  });
});
