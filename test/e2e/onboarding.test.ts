/**
 * Cluster onboarding end to end: the real GKE client creates clusters in the local cloud, the stand-ins
 * emit audit entries, Eventarc-style delivery carries them to onAuditLogEvent served by functions-framework from
 * the built bundle, and the function's writes land on the stand-ins through the real client libraries.
 */
import assert from 'node:assert/strict';
import { clusterAuditEntry } from '../../sandbox/audit/entries';
import { DEMO_PROJECT, type Sandbox, startSandbox } from '../../sandbox/harness';
import { createCluster, deleteCluster, until } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { callsSince, recordsSince, writesSince } from './helpers';

const P = DEMO_PROJECT.id;
const ref = (name: string, location = 'us-east4'): ClusterRef => ({ project: P, location, name });
const link = (r: ClusterRef) =>
  `//container.googleapis.com/projects/${r.project}/locations/${r.location}/clusters/${r.name}`;
const spoke = {
  network: 'gcp-spoke100-us-east4',
  subnetwork: 'gcp-spoke100-us-east4',
  ipAllocationPolicy: { useIpAliases: true },
  initialNodeCount: 1,
};
const peered = {
  ...spoke,
  network: 'gcp-spoke200-us-east4',
  subnetwork: 'gcp-spoke200-us-east4',
  privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.1.0/28' },
};

describe('e2e: cluster onboarding through functions-framework and direct CloudEvent delivery', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox();
  });
  after(async () => {
    await sandbox?.stop();
  });

  const membershipOf = (r: ClusterRef) =>
    sandbox.cloud.hub.store
      .list()
      .memberships.filter((m) => m.endpoint?.gkeCluster?.resourceLink === link(r));
  interface StoredCluster {
    network: string;
    workloadIdentityConfig?: { workloadPool?: string };
    privateClusterConfig?: { peeringName?: string };
  }
  const cluster = (r: ClusterRef) => sandbox.cloud.container.store.getCluster(r) as unknown as StoredCluster;
  const peeringOf = (r: ClusterRef) => {
    const c = cluster(r);
    return sandbox.cloud.compute.store
      .getNetwork(P, c.network)
      ?.peerings?.find((p) => p.name === c.privateClusterConfig?.peeringName);
  };

  it('a spoke cluster converges on every row: workload identity, membership, MCS feature, peering export, namespaces', async () => {
    const r = ref('e2e-peered');
    await createCluster(sandbox, r, peered);
    await sandbox.settle();
    assert.equal(cluster(r).workloadIdentityConfig?.workloadPool, `${P}.svc.id.goog`);
    const [membership] = membershipOf(r);
    assert.equal(membership.name, `projects/${P}/locations/global/memberships/e2e-peered`);
    assert.deepEqual(membership.labels, { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' });
    assert.equal(
      membership.authority?.issuer,
      `https://container.googleapis.com/v1/projects/${P}/locations/us-east4/clusters/e2e-peered`,
    );
    assert.ok(
      sandbox.cloud.hub.store.list().features.some((f) => f.name.endsWith('/multiclusterservicediscovery')),
    );
    assert.equal(peeringOf(r)?.exportCustomRoutes, true);
    assert.ok(sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common'));
    const ns = sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common');
    assert.equal(ns?.metadata.labels?.['app.kubernetes.io/managed-by'], 'spokefleet');
  });

  it('the same last entry delivered again makes 0 writes', async () => {
    const r = ref('e2e-peered');
    const before = sandbox.cloud.faults.counters();
    const entry = clusterAuditEntry({
      method: 'CreateCluster',
      phase: 'last',
      cluster: r,
      operationId: 'operation-redelivered',
    });
    sandbox.auditDelivery!.emit(entry);
    sandbox.auditDelivery!.emit(entry);
    await sandbox.settle();
    assert.deepEqual(writesSince(sandbox, before), {});
  });

  it('a first entry (cluster still provisioning) and a failed create are ignored without a single API call', async () => {
    const before = sandbox.cloud.faults.counters();
    const logs = sandbox.audit.logs.length;
    const r = ref('e2e-peered');
    sandbox.auditDelivery!.emit(
      clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'first',
        cluster: r,
        operationId: 'op-first',
        principal: 'a@example.com',
      }),
    );
    sandbox.auditDelivery!.emit(
      clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        cluster: r,
        operationId: 'op-failed',
        statusCode: 3,
        statusMessage: 'bad',
      }),
    );
    await sandbox.settle();
    assert.equal(callsSince(sandbox, before), 0);
    assert.deepEqual(recordsSince(sandbox, logs), []);
    assert.ok(sandbox.auditDelivery!.attempts.slice(-2).every((a) => a.acked));
  });

  it('a non-spoke cluster is skipped with its reason and nothing is written', async () => {
    const r = ref('e2e-nonspoke');
    const logs = sandbox.audit.logs.length;
    const before = sandbox.cloud.faults.counters();
    await createCluster(sandbox, r, {
      ...spoke,
      network: 'shared-services-us-east4',
      subnetwork: 'shared-services-us-east4',
    });
    await sandbox.settle();
    // The test's own create is the only write.
    assert.deepEqual(writesSince(sandbox, before), { 'container.CreateCluster': 1 });
    const records = recordsSince(sandbox, logs);
    assert.deepEqual(
      records.map((x) => `${x.step}:${x.outcome}`),
      ['spoke:skipped'],
    );
    assert.match(records[0].reason, /not a configured spoke/);
    assert.deepEqual(membershipOf(r), []);
  });

  it('a routes-based (not VPC-native) cluster is refused and nothing is written', async () => {
    const r = ref('e2e-routes');
    const logs = sandbox.audit.logs.length;
    const before = sandbox.cloud.faults.counters();
    await createCluster(sandbox, r, { ...spoke, ipAllocationPolicy: { useIpAliases: false } });
    await sandbox.settle();
    assert.deepEqual(writesSince(sandbox, before), { 'container.CreateCluster': 1 });
    assert.deepEqual(
      recordsSince(sandbox, logs).map((x) => `${x.step}:${x.outcome}`),
      ['spoke:unchanged', 'vpc-native:refused'],
    );
    assert.equal(cluster(r).workloadIdentityConfig?.workloadPool ?? '', '');
    assert.deepEqual(membershipOf(r), []);
  });

  it('a PSC cluster: peering is not applicable, the rest converges', async () => {
    const r = ref('e2e-psc');
    const logs = sandbox.audit.logs.length;
    await createCluster(sandbox, r, { ...spoke, privateClusterConfig: { enablePrivateNodes: true } });
    await sandbox.settle();
    const peering = recordsSince(sandbox, logs).find((x) => x.step === 'peering');
    assert.equal(peering?.outcome, 'skipped');
    assert.match(peering?.reason ?? '', /not applicable/);
    assert.equal(membershipOf(r).length, 1);
  });

  it('a cluster born in the fleet keeps its membership and gets no second one', async () => {
    const r = ref('e2e-born', 'us-east4-b');
    await createCluster(sandbox, r, {
      ...spoke,
      fleet: { project: P },
      workloadIdentityConfig: { workloadPool: `${P}.svc.id.goog` },
    });
    await sandbox.settle();
    const memberships = membershipOf(r);
    assert.equal(memberships.length, 1);
    assert.equal(memberships[0].name, `projects/${P}/locations/us-east4/memberships/e2e-born`);
    // Reached through its own (regional) membership on the Connect gateway.
    assert.ok(sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common'));
  });

  it('DeleteCluster removes the managed membership and leaves an unmanaged one alone', async () => {
    const managed = ref('e2e-delete-managed');
    const unmanaged = ref('e2e-delete-unmanaged');
    await createCluster(sandbox, managed, spoke);
    await createCluster(sandbox, unmanaged, spoke);
    await sandbox.settle();
    // Someone registered `unmanaged` by hand before Spokefleet could: replace ours with an unlabelled one.
    const [ours] = membershipOf(unmanaged);
    sandbox.cloud.hub.store.deleteMembership(ours.name);
    sandbox.cloud.hub.store.registerMembership(P, 'global', 'by-hand', unmanaged);

    await deleteCluster(sandbox, managed);
    await deleteCluster(sandbox, unmanaged);
    await sandbox.settle();
    assert.deepEqual(membershipOf(managed), []);
    assert.deepEqual(
      membershipOf(unmanaged).map((m) => m.name),
      [`projects/${P}/locations/global/memberships/by-hand`],
    );
  });

  it('create delivered three times and out of order with its delete: the cluster stays offboarded, no resurrection', async () => {
    const r = ref('e2e-reorder');
    const delivery = sandbox.auditDelivery!;
    delivery.pause();
    await createCluster(sandbox, r, spoke);
    await deleteCluster(sandbox, r);
    // Deliver: delete's entries first, then the create's last entry three times.
    delivery.resume((held) => {
      const created = held.filter((m) => m.data.toString().includes('CreateCluster'));
      const deleted = held.filter((m) => m.data.toString().includes('DeleteCluster'));
      return [...deleted, ...created, ...created, ...created];
    });
    await sandbox.settle();
    assert.deepEqual(membershipOf(r), []);
  });

  it('onboards through 20 % injected transient faults on the Hub, Compute, Kubernetes and Resource Manager APIs, by in-process retry and redelivery', async () => {
    // GKE is left out here: the developer's own create and status polls go through the same stand-in and would
    // fail too. test/reliability/faults.test.ts puts faults on GKE alone and on every API at once.
    const r = ref('e2e-faults');
    sandbox.cloud.faults.reseed(42);
    sandbox.cloud.faults.setRule('gkehub.*', {
      errorRate: 0.2,
      faults: ['unavailable', 'rate-limited', 'internal'],
    });
    sandbox.cloud.faults.setRule('compute.*', {
      errorRate: 0.2,
      faults: ['unavailable', 'peering-in-progress'],
    });
    sandbox.cloud.faults.setRule('kube.*', { errorRate: 0.2, faults: ['unavailable', 'rate-limited'] });
    sandbox.cloud.faults.setRule('resourcemanager.*', { errorRate: 0.2, faults: ['unavailable'] });
    try {
      await createCluster(sandbox, r, peered);
      await sandbox.settle();
      await until(() => membershipOf(r).length === 1, 'membership');
    } finally {
      sandbox.cloud.faults.clearRules();
    }
    assert.equal(cluster(r).workloadIdentityConfig?.workloadPool, `${P}.svc.id.goog`);
    assert.equal(peeringOf(r)?.exportCustomRoutes, true);
    assert.ok(sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common'));
    assert.ok(sandbox.cloud.faults.totals().faults > 0, 'faults were injected');
  });
});
