import assert from 'node:assert/strict';
import type { ClusterRef } from '../../shared/events/types';
import type { ActionRecord } from '../../shared/reconcile/action';
import { reconcileExports, syncServiceExport } from '../../shared/reconcile/exports';
import { reconcileService } from '../../shared/reconcile/service';
import { clusterInfo, FakeCloud, type FakeKube, memberClusters } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { grpcError, kubeError } from '../fakes/errors';

const ref: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'cluster-1' };
const LABEL = { 'spokefleet.io/export': 'true' };
const MANAGED = { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' };

/** A fleet of `n` member clusters in `project`, each with a membership Spokefleet can find. */
function fleet(cloud: FakeCloud, n: number, project = PROJECT): FakeKube[] {
  return memberClusters(cloud, n, project).map((m) => m.kube);
}

describe('ServiceExport decisions', () => {
  // `labels: 'absent'` / `existing: 'absent'`: an object with no metadata.labels at all, as the API returns one
  // that was created without labels.
  const table: Array<{
    name: string;
    labels?: Record<string, string> | null | 'absent';
    existing?: Record<string, string> | 'absent';
    expect: ActionRecord['outcome'];
    reason: string;
    exportAfter: boolean;
  }> = [
    {
      name: 'labelled, no export → created',
      labels: LABEL,
      expect: 'created',
      reason: 'ServiceExport',
      exportAfter: true,
    },
    {
      name: 'labelled, managed export → unchanged',
      labels: LABEL,
      existing: MANAGED,
      expect: 'unchanged',
      reason: 'exported',
      exportAfter: true,
    },
    {
      name: 'labelled, user-owned export → unchanged',
      labels: LABEL,
      existing: {},
      expect: 'unchanged',
      reason: 'exported (user-owned ServiceExport left alone)',
      exportAfter: true,
    },
    {
      name: 'label value wrong → no export',
      labels: { 'spokefleet.io/export': 'yes' },
      expect: 'unchanged',
      reason: 'not labelled for export',
      exportAfter: false,
    },
    {
      name: 'unlabelled, managed export → deleted',
      labels: {},
      existing: MANAGED,
      expect: 'deleted',
      reason: 'Service no longer labelled for export',
      exportAfter: false,
    },
    {
      name: 'unlabelled, user-owned export → left alone',
      labels: {},
      existing: {},
      expect: 'unchanged',
      reason: 'user-owned ServiceExport left alone',
      exportAfter: true,
    },
    {
      name: 'Service gone, managed export → deleted',
      labels: null,
      existing: MANAGED,
      expect: 'deleted',
      reason: 'Service deleted',
      exportAfter: false,
    },
    {
      name: 'Service gone, user-owned export → left alone',
      labels: null,
      existing: {},
      expect: 'unchanged',
      reason: 'user-owned ServiceExport left alone',
      exportAfter: true,
    },
    {
      name: 'Service gone, no export → unchanged',
      labels: null,
      expect: 'unchanged',
      reason: 'no Service, no export',
      exportAfter: false,
    },
    {
      name: 'Service without any labels, no export → no export',
      labels: 'absent',
      expect: 'unchanged',
      reason: 'not labelled for export',
      exportAfter: false,
    },
    {
      name: 'unlabelled, export without any labels → left alone',
      labels: {},
      existing: 'absent',
      expect: 'unchanged',
      reason: 'user-owned ServiceExport left alone',
      exportAfter: true,
    },
    {
      // The owner label alone does not make it Spokefleet's: managed-by must say so too.
      name: 'unlabelled, export with our owner label but no managed-by → left alone',
      labels: {},
      existing: { 'spokefleet.io/owner': 'spokefleet' },
      expect: 'unchanged',
      reason: 'user-owned ServiceExport left alone',
      exportAfter: true,
    },
  ];
  for (const t of table) {
    it(t.name, async () => {
      const cloud = new FakeCloud();
      const [kube] = fleet(cloud, 1);
      if (t.labels === 'absent')
        kube.services.set('mcs-common/nginx', { metadata: { name: 'nginx', namespace: 'mcs-common' } });
      else if (t.labels !== null) kube.addService('mcs-common', 'nginx', t.labels);
      if (t.existing === 'absent') {
        kube.addExport('mcs-common', 'nginx');
        delete kube.exports.get('mcs-common/nginx')?.metadata.labels;
      } else if (t.existing) kube.addExport('mcs-common', 'nginx', t.existing);
      const record = await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
      assert.equal(record.outcome, t.expect, record.reason);
      assert.equal(record.reason, t.reason);
      assert.equal(record.step, 'exports');
      assert.equal(record.target, 'spoke-prj-one/us-east4/cluster-1/mcs-common/nginx');
      assert.equal(kube.exports.has('mcs-common/nginx'), t.exportAfter);
      if (t.expect === 'created') {
        assert.deepEqual(kube.exports.get('mcs-common/nginx')?.metadata.labels, MANAGED);
      }
      // Only an export that stands for a labelled Service has its health read (and an Event recorded): nothing is
      // written about a Service that is not exported.
      if (t.expect === 'unchanged' && !(t.labels === LABEL && t.existing)) {
        assert.deepEqual(cloud.log.writes(), []);
        assert.equal(cloud.log.calls.filter((c) => c.method === 'listServiceImports').length, 0);
      }
    });
  }

  it('the same event three times writes once', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    for (let i = 0; i < 3; i++)
      await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(cloud.log.writes().filter((c) => c.method === 'createServiceExport').length, 1);
  });

  it('a custom label key and value from config', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', { 'mcs.example.com/share': 'yes' });
    const { ctx } = testContext(cloud, { export: { label: 'mcs.example.com/share', value: 'yes' } });
    const record = await syncServiceExport(ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'created');
  });

  it('dry-run plans and writes nothing, not even a refusal Event', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    kube.addService('default', 'web', LABEL);
    kube.addService('mcs-common', 'stale', {});
    kube.addExport('mcs-common', 'stale', MANAGED);
    const { ctx } = testContext(cloud, {}, true);
    const plan = async (ns: string, name: string) => {
      const r = await syncServiceExport(ctx, kube, ref, ns, name);
      return `${r.outcome}: ${r.reason}`;
    };
    assert.equal(await plan('mcs-common', 'nginx'), 'planned: would be created: ServiceExport');
    assert.match(await plan('default', 'web'), /^refused: namespace default cannot be exported/);
    assert.equal(await plan('mcs-common', 'stale'), 'planned: would be deleted: ServiceExport');
    assert.deepEqual(cloud.log.writes(), []);
    assert.ok(kube.exports.has('mcs-common/stale'));
  });
});

describe('MCS limits', () => {
  for (const namespace of ['default', 'kube-system']) {
    it(`refuses ${namespace} with an Event on the Service, and only once`, async () => {
      const cloud = new FakeCloud();
      const [kube] = fleet(cloud, 1);
      kube.addService(namespace, 'web', LABEL);
      const first = await syncServiceExport(testContext(cloud).ctx, kube, ref, namespace, 'web');
      const again = await syncServiceExport(testContext(cloud).ctx, kube, ref, namespace, 'web');
      assert.equal(first.outcome, 'refused');
      assert.equal(again.outcome, 'refused');
      assert.match(first.reason ?? '', new RegExp(namespace));
      assert.equal(kube.exports.size, 0);
      assert.equal(kube.events.length, 1);
      assert.equal(kube.events[0].reason, 'ExportRefused');
      assert.equal(kube.events[0].type, 'Warning');
      // On the Service itself, so `kubectl describe service` shows it.
      assert.deepEqual(kube.events[0].involved, {
        kind: 'Service',
        apiVersion: 'v1',
        name: 'web',
        uid: 'uid-web',
      });
      assert.match(
        kube.events[0].message,
        new RegExp(`^Spokefleet did not export this Service: namespace ${namespace}`),
      );
      assert.deepEqual(
        cloud.log.writes().map((c) => c.method),
        ['recordEvent'],
      );
    });
  }

  const endpoints: Array<[number, ActionRecord['outcome']]> = [
    [250, 'created'],
    [251, 'refused'],
  ];
  for (const [count, expect] of endpoints) {
    it(`${count} ready endpoints → ${expect}`, async () => {
      const cloud = new FakeCloud();
      const [kube] = fleet(cloud, 1);
      kube.addService('mcs-common', 'big', LABEL);
      kube.endpoints.set('mcs-common/big', count);
      assert.equal(
        (await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'big')).outcome,
        expect,
      );
    });
  }

  const clustersPerService: Array<[number, ActionRecord['outcome']]> = [
    [4, 'created'],
    [5, 'refused'],
  ];
  for (const [already, expect] of clustersPerService) {
    it(`${already} other clusters already export it → ${expect}`, async () => {
      const cloud = new FakeCloud();
      const kubes = fleet(cloud, already + 1);
      for (const k of kubes.slice(1)) k.addExport('mcs-common', 'nginx', MANAGED);
      kubes[0].addService('mcs-common', 'nginx', LABEL);
      const record = await syncServiceExport(testContext(cloud).ctx, kubes[0], ref, 'mcs-common', 'nginx');
      assert.equal(record.outcome, expect, record.reason);
    });
  }

  const perFleet: Array<[number, ActionRecord['outcome']]> = [
    [49, 'created'],
    [50, 'refused'],
  ];
  for (const [distinct, expect] of perFleet) {
    it(`${distinct} distinct Services already exported in the fleet → ${expect}`, async () => {
      const cloud = new FakeCloud();
      const kubes = fleet(cloud, 2);
      for (let i = 0; i < distinct; i++) kubes[1].addExport('mcs-common', `svc-${i}`, MANAGED);
      kubes[0].addService('mcs-common', 'new-one', LABEL);
      const record = await syncServiceExport(testContext(cloud).ctx, kubes[0], ref, 'mcs-common', 'new-one');
      assert.equal(record.outcome, expect, record.reason);
    });
  }

  it('joining an existing export does not count as a new fleet Service', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    for (let i = 0; i < 49; i++) kubes[1].addExport('mcs-common', `svc-${i}`, MANAGED);
    kubes[1].addExport('mcs-common', 'nginx', MANAGED);
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    const record = await syncServiceExport(testContext(cloud).ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'created', record.reason);
  });

  it('refuses a name already exported from another project', async () => {
    const cloud = new FakeCloud();
    const [local] = fleet(cloud, 1);
    const [foreign] = fleet(cloud, 1, 'spoke-prj-two');
    foreign.addExport('mcs-common', 'nginx', MANAGED);
    local.addService('mcs-common', 'nginx', LABEL);
    const record = await syncServiceExport(testContext(cloud).ctx, local, ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'refused');
    assert.match(record.reason ?? '', /another project/);
  });

  it('reads the fleet view once per invocation, not once per Service', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 3);
    for (let i = 0; i < 4; i++) kubes[0].addService('mcs-common', `svc-${i}`, LABEL);
    const { ctx } = testContext(cloud);
    const records = await reconcileExports(ctx, kubes[0], ref);
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['created', 'created', 'created', 'created'],
    );
    // Once for the invocation, plus one fresh list per created export: the re-check after creating
    // (docs/reliability.md, "concurrent exports beyond the MCS limits").
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 1 + 4);
    // One listing per member cluster for the invocation (the cluster's own list is the fleet view's, shared by the
    // recount and the four checks), and one per member cluster for each created export's re-check.
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listServiceExports').length, 3 + 4 * 3);
  });
});

describe('reconcileExports (whole cluster) and reconcileService', () => {
  it('creates missing exports and removes stale managed ones, never user-owned ones', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'a', LABEL);
    kube.addService('mcs-common', 'b', {});
    kube.addExport('mcs-common', 'b', MANAGED);
    kube.addExport('mcs-common', 'gone', MANAGED);
    kube.addExport('team-x', 'theirs', {});
    // Not labelled and not exported: not even listed.
    kube.addService('mcs-common', 'c', {});
    const records = await reconcileExports(testContext(cloud).ctx, kube, ref);
    assert.deepEqual(
      records.map((r) => `${r.step} ${r.target}: ${r.outcome} (${r.reason})`),
      [
        'exports spoke-prj-one/us-east4/cluster-1/mcs-common/a: created (ServiceExport)',
        // The whole-cluster pass lists only labelled Services: it cannot tell a deleted Service from an unlabelled one.
        'exports spoke-prj-one/us-east4/cluster-1/mcs-common/b: deleted (no Service labelled for export)',
        'exports spoke-prj-one/us-east4/cluster-1/mcs-common/gone: deleted (no Service labelled for export)',
      ],
    );
    assert.deepEqual([...kube.exports.keys()].sort(), ['mcs-common/a', 'team-x/theirs']);
  });

  it('a Service event for a cluster that is not a member yet is skipped', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref)).addService('mcs-common', 'nginx', LABEL);
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.deepEqual(
      records.map((r) => `${r.step}:${r.outcome}`),
      ['spoke:unchanged', 'vpc-native:unchanged', 'exports:skipped'],
    );
    assert.deepEqual(
      [records[2].target, records[2].reason],
      ['spoke-prj-one/us-east4/cluster-1/mcs-common/nginx', 'the cluster is not a fleet member yet'],
    );
  });

  it('with kubeAccess: endpoint, a member cluster is reached and its Service exported', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    const records = await reconcileService(
      testContext(cloud, { kubeAccess: 'endpoint' }).ctx,
      ref,
      'mcs-common',
      'nginx',
    );
    assert.equal(records.at(-1)?.outcome, 'created', records.at(-1)?.reason);
    assert.equal(kube.exports.has('mcs-common/nginx'), true);
    assert.equal(cloud.log.writes().filter((c) => c.method === 'createServiceExport').length, 1);
  });

  it('with kubeAccess: endpoint, a Service event for a cluster that is not a member yet is skipped: nothing created', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref)).addService('mcs-common', 'nginx', LABEL);
    const records = await reconcileService(
      testContext(cloud, { kubeAccess: 'endpoint' }).ctx,
      ref,
      'mcs-common',
      'nginx',
    );
    assert.deepEqual(
      records.map((r) => `${r.step}:${r.outcome}`),
      ['spoke:unchanged', 'vpc-native:unchanged', 'exports:skipped'],
    );
    assert.equal(records[2]?.reason, 'the cluster is not a fleet member yet');
    assert.equal(cloud.connects.length, 0, 'the cluster was not even connected to');
  });

  it('with kubeAccess: endpoint, memberships that cannot be read fail the export transiently (not kube-connect)', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref)).addService('mcs-common', 'nginx', LABEL);
    cloud.log.failures.set('fleet.listMemberships', () => grpcError(14, 'unavailable'));
    const records = await reconcileService(
      testContext(cloud, { kubeAccess: 'endpoint' }).ctx,
      ref,
      'mcs-common',
      'nginx',
    );
    const last = records.at(-1);
    assert.deepEqual([last?.step, last?.outcome, last?.retryable], ['exports', 'failed', true]);
  });

  it('a cluster that names its membership is connected through it without listing the fleet', async () => {
    const cloud = new FakeCloud();
    const membership = `projects/${FLEET}/locations/global/memberships/${PROJECT}-cluster-1`;
    cloud
      .addCluster(clusterInfo(ref, { fleetMembership: `//gkehub.googleapis.com/${membership}` }))
      .addService('mcs-common', 'nginx', {});
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.equal(records.at(-1)?.outcome, 'unchanged', records.at(-1)?.reason);
    assert.equal(cloud.connects[0].membership, membership);
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 0);
  });

  it('a Service event on a member cluster exports through its membership', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.equal(records.at(-1)?.outcome, 'created');
    assert.equal(
      cloud.connects[0].membership,
      `projects/${FLEET}/locations/global/memberships/${PROJECT}-cluster-1`,
    );
  });

  it('a Service event whose Kubernetes client cannot be built fails kube-connect, not exports (skipped)', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    cloud.log.failures.set('kube.connect', () => grpcError(14, 'unavailable'));
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.deepEqual(
      records.slice(-2).map((r) => `${r.step}:${r.outcome}`),
      ['kube-connect:failed', 'exports:skipped'],
    );
    assert.equal(records.at(-2)?.retryable, true);
    assert.equal(records.at(-1)?.reason, 'the Kubernetes API is unreachable');
  });

  it('a Service event whose fleet memberships cannot be read fails kube-connect (the gateway address)', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref)).addService('mcs-common', 'nginx', LABEL);
    cloud.log.failures.set('fleet.listMemberships', () => grpcError(14, 'unavailable'));
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.deepEqual(
      records.at(-1) && `${records.at(-1)?.step}:${records.at(-1)?.outcome}`,
      'kube-connect:failed',
    );
  });

  it('a Service event on a non-spoke cluster touches nothing in it', async () => {
    const cloud = new FakeCloud();
    cloud
      .addCluster(clusterInfo(ref, { network: { project: PROJECT, name: 'hub' } }))
      .addService('mcs-common', 'nginx', LABEL);
    const records = await reconcileService(testContext(cloud).ctx, ref, 'mcs-common', 'nginx');
    assert.deepEqual(
      records.map((r) => `${r.step}:${r.outcome}`),
      ['spoke:skipped'],
    );
    assert.equal(cloud.connects.length, 0);
  });
});

describe('after creating an export: its health', () => {
  it('a Conflict condition the MCS controller reports is one WARNING line and one Warning Event on the Service', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    kube.namespaces.set('mcs-common', {});
    // The MCS controller marks the export as conflicting as soon as it exists.
    const create = kube.createServiceExport.bind(kube);
    kube.createServiceExport = async (ns, name, labels) => {
      const created = await create(ns, name, labels);
      created.conditions.push({
        type: 'Conflict',
        status: 'True',
        reason: 'PortConflict',
        message: 'ports differ across clusters',
      });
      return created;
    };
    const { ctx, transport } = testContext(cloud);
    const record = await syncServiceExport(ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'created');
    const warnings = transport.records().filter((r) => r.severity === 'WARNING');
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0].message), /Conflict=True \(PortConflict\): ports differ across clusters/);
    assert.deepEqual(
      kube.events.map((e) => [e.reason, e.type, e.involved.name]),
      [['ExportHealth', 'Warning', 'nginx']],
    );
    // The Service itself is never written.
    assert.equal(
      cloud.log.calls.filter((c) => /Service$/.test(c.method) && /^(create|patch|update)/.test(c.method))
        .length,
      0,
    );
  });

  it('imported in every member, no bad condition: a Normal Event naming the clusterset DNS name, no warning', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    for (const k of kubes) {
      k.namespaces.set('mcs-common', {});
      k.imports.set('mcs-common/nginx', {
        metadata: { name: 'nginx', namespace: 'mcs-common' },
        ips: ['10.255.0.1'],
        ports: [{ port: 80 }],
        clusters: ['cluster-1'],
      });
    }
    const { ctx, transport } = testContext(cloud);
    await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.equal(transport.records().filter((r) => r.severity === 'WARNING').length, 0);
    assert.deepEqual(
      kubes[0].events.map((e) => [e.reason, e.type, e.message]),
      [
        [
          'ExportHealth',
          'Normal',
          'Imported in 2 of 2 member clusters as nginx.mcs-common.svc.clusterset.local',
        ],
      ],
    );
  });

  it('a member without the namespace is named; the same health again records nothing new', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    kubes[0].addExport('mcs-common', 'nginx');
    kubes[0].namespaces.set('mcs-common', {});
    kubes[0].imports.set('mcs-common/nginx', {
      metadata: { name: 'nginx', namespace: 'mcs-common' },
      ips: [],
      ports: [],
      clusters: [],
    });
    for (let i = 0; i < 2; i++) {
      const { ctx } = testContext(cloud);
      await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    }
    assert.equal(kubes[0].events.length, 1);
    assert.equal(kubes[0].events[0].type, 'Warning');
    assert.match(
      kubes[0].events[0].message,
      /^Imported in 1 of 2 member clusters as nginx\.mcs-common\.svc\.clusterset\.local; namespace mcs-common is missing in spoke-prj-one\/us-east4\/cluster-2 /,
    );
  });

  it('namespaces: auto creates the missing namespace (managed) in the member cluster', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    kubes[0].addExport('mcs-common', 'nginx');
    kubes[0].namespaces.set('mcs-common', {});
    const { ctx } = testContext(cloud, { namespaces: 'auto' });
    await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.deepEqual(kubes[1].namespaces.get('mcs-common'), { 'app.kubernetes.io/managed-by': 'spokefleet' });
    assert.match(
      kubes[0].events[0].message,
      /namespace mcs-common created in spoke-prj-one\/us-east4\/cluster-2/,
    );
  });

  it('dry run reads no health and records nothing', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    kubes[0].addExport('mcs-common', 'nginx');
    const { ctx } = testContext(cloud, {}, true);
    await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.equal(kubes[0].events.length, 0);
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listServiceImports').length, 0);
  });
});

describe('the post-create re-check', () => {
  it('reads the members and their exports again after the create, with one allowed project too', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 2);
    kube.addService('mcs-common', 'nginx', LABEL);
    const { ctx } = testContext(cloud, { projects: [PROJECT] });
    assert.equal((await syncServiceExport(ctx, kube, ref, 'mcs-common', 'nginx')).outcome, 'created');
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 2);
    assert.equal(cloud.log.calls.filter((c) => c.method === 'listServiceExports').length, 2 * 2);
  });
});

describe('ServiceExport writes that meet another writer', () => {
  it('an export deleted by someone else before the delete: unchanged, already gone', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addExport('mcs-common', 'nginx', MANAGED);
    kube.deleteServiceExport = async () => {
      throw kubeError(404, 'serviceexports.net.gke.io "nginx" not found');
    };
    const record = await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(`${record.outcome}: ${record.reason}`, 'unchanged: ServiceExport already gone');
  });

  it('an export created by someone else between the read and the create: unchanged, not failed', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    const create = kube.createServiceExport.bind(kube);
    kube.createServiceExport = async (ns, name, labels) => {
      kube.addExport(ns, name, MANAGED);
      return create(ns, name, labels);
    };
    const record = await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(`${record.outcome}: ${record.reason}`, 'unchanged: exported (created concurrently)');
  });

  for (const write of ['createServiceExport', 'deleteServiceExport'] as const) {
    it(`${write} answering 503: the step fails transiently`, async () => {
      const cloud = new FakeCloud();
      const [kube] = fleet(cloud, 1);
      if (write === 'createServiceExport') kube.addService('mcs-common', 'nginx', LABEL);
      else kube.addExport('mcs-common', 'nginx', MANAGED);
      cloud.log.failures.set(`kube:${kube.cluster}.${write}`, () => kubeError(503, 'unavailable'));
      const record = await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
      assert.deepEqual(
        [record.outcome, record.retryable, record.reason],
        ['failed', true, '503 ServiceUnavailable: unavailable'],
      );
    });
  }

  it('an export deleted right after its create fails transiently (the redelivery checks again)', async () => {
    const cloud = new FakeCloud();
    const [kube] = fleet(cloud, 1);
    kube.addService('mcs-common', 'nginx', LABEL);
    const create = kube.createServiceExport.bind(kube);
    kube.createServiceExport = async (ns, name, labels) => {
      const created = await create(ns, name, labels);
      kube.exports.delete(`${ns}/${name}`);
      return created;
    };
    const record = await syncServiceExport(testContext(cloud).ctx, kube, ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.equal(
      record.reason,
      'ServiceExport mcs-common/nginx was deleted while it was being checked; the event will be retried',
    );
  });

  it('another project exports the name while this one is created: this export is withdrawn, the retry refuses', async () => {
    const cloud = new FakeCloud();
    const [local] = fleet(cloud, 1);
    const [foreign] = fleet(cloud, 1, 'spoke-prj-two');
    local.addService('mcs-common', 'nginx', LABEL);
    const create = local.createServiceExport.bind(local);
    local.createServiceExport = async (ns, name, labels) => {
      // The other invocation's create lands first (an older creationTimestamp).
      foreign.addExport(ns, name, MANAGED);
      local.createServiceExport = create;
      return create(ns, name, labels);
    };
    const first = await syncServiceExport(testContext(cloud).ctx, local, ref, 'mcs-common', 'nginx');
    assert.equal(first.outcome, 'failed');
    assert.equal(first.retryable, true);
    assert.equal(
      first.reason,
      'mcs-common/nginx is already exported from another project (cluster spoke-prj-two/us-east4/cluster-1): ' +
        'exported concurrently by another invocation, so this export was withdrawn; the event will be retried',
    );
    assert.equal(local.exports.has('mcs-common/nginx'), false);
    assert.ok(foreign.exports.has('mcs-common/nginx'));
    const retry = await syncServiceExport(testContext(cloud).ctx, local, ref, 'mcs-common', 'nginx');
    assert.equal(retry.outcome, 'refused');
    assert.deepEqual(
      local.events.map((e) => e.reason),
      ['ExportRefused'],
    );
  });
});

describe('the post-create re-check: exports created in the same second', () => {
  const ONE_CLUSTER = { limits: { maxClustersPerService: 1 } };

  /** cluster-2 exports nginx in the same second as cluster-1's create, so cluster-1 ranks first (by name). */
  function tie(cloud: FakeCloud, kubes: FakeKube[]) {
    cloud.log.tickPerCreate = 0;
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    const create = kubes[0].createServiceExport.bind(kubes[0]);
    kubes[0].createServiceExport = async (ns, name, labels) => {
      kubes[1].addExport(ns, name, MANAGED);
      return create(ns, name, labels);
    };
  }

  it('withdraws the other cluster’s export that ranks after it, with a WARNING and the refusal Event there', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    tie(cloud, kubes);
    kubes[1].addService('mcs-common', 'nginx', LABEL);
    const { ctx, transport } = testContext(cloud, ONE_CLUSTER);
    const record = await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'created', record.reason);
    assert.ok(kubes[0].exports.has('mcs-common/nginx'));
    assert.equal(kubes[1].exports.has('mcs-common/nginx'), false);
    const reason = 'mcs-common/nginx is already exported by 1 clusters, the MCS limit is 1';
    const warning = transport
      .records()
      .find((r) => r.severity === 'WARNING' && /withdrawn/.test(String(r.message)));
    assert.deepEqual(warning && [warning.message, warning.step, warning.target, warning.reason], [
      `ServiceExport spoke-prj-one/us-east4/cluster-2/mcs-common/nginx withdrawn: ${reason}`,
      'exports',
      'spoke-prj-one/us-east4/cluster-2/mcs-common/nginx',
      reason,
    ]);
    assert.deepEqual(
      kubes[1].events.map((e) => [e.reason, e.involved.name, e.message]),
      [['ExportRefused', 'nginx', `Spokefleet did not export this Service: ${reason}`]],
    );
  });

  for (const [what, add] of [
    ['no Service', () => {}],
    ['an unlabelled Service', (k: FakeKube) => k.addService('mcs-common', 'nginx', {})],
  ] as const) {
    it(`the other cluster has ${what}: its export is withdrawn without a refusal Event`, async () => {
      const cloud = new FakeCloud();
      const kubes = fleet(cloud, 2);
      tie(cloud, kubes);
      add(kubes[1]);
      const record = await syncServiceExport(
        testContext(cloud, ONE_CLUSTER).ctx,
        kubes[0],
        ref,
        'mcs-common',
        'nginx',
      );
      assert.equal(record.outcome, 'created', record.reason);
      assert.equal(kubes[1].exports.has('mcs-common/nginx'), false);
      assert.deepEqual(kubes[1].events, []);
    });
  }

  it('the other cluster’s export is already gone: nothing logged, no Event', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    tie(cloud, kubes);
    kubes[1].addService('mcs-common', 'nginx', LABEL);
    kubes[1].deleteServiceExport = async () => {
      throw kubeError(404, 'not found');
    };
    const { ctx, transport } = testContext(cloud, ONE_CLUSTER);
    const record = await syncServiceExport(ctx, kubes[0], ref, 'mcs-common', 'nginx');
    assert.equal(record.outcome, 'created', record.reason);
    assert.deepEqual(kubes[1].events, []);
    assert.equal(transport.records().filter((r) => /withdrawn/.test(String(r.message))).length, 0);
  });

  it('the other cluster’s export cannot be deleted: the event fails transiently (its redelivery withdraws it)', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 2);
    tie(cloud, kubes);
    kubes[1].deleteServiceExport = async () => {
      throw kubeError(503, 'unavailable');
    };
    const record = await syncServiceExport(
      testContext(cloud, ONE_CLUSTER).ctx,
      kubes[0],
      ref,
      'mcs-common',
      'nginx',
    );
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.match(record.reason ?? '', /unavailable/);
  });

  it('leaves alone exports beyond a limit that were created in another second, and never touches a user’s', async () => {
    const cloud = new FakeCloud();
    const kubes = fleet(cloud, 3);
    cloud.log.tickPerCreate = 0;
    // Over the limit already, from an older second: the recount of cluster-3 withdraws it, not this create.
    kubes[1].addExport('mcs-common', 'older', MANAGED);
    kubes[2].addExport('mcs-common', 'older', MANAGED);
    cloud.log.clock = 5;
    // Beyond, in the same second as the create below, but the user's own.
    kubes[1].addExport('mcs-common', 'theirs', {});
    kubes[2].addExport('mcs-common', 'theirs', {});
    kubes[0].addService('mcs-common', 'nginx', LABEL);
    const record = await syncServiceExport(
      testContext(cloud, ONE_CLUSTER).ctx,
      kubes[0],
      ref,
      'mcs-common',
      'nginx',
    );
    assert.equal(record.outcome, 'created', record.reason);
    assert.equal(cloud.log.calls.filter((c) => c.method === 'deleteServiceExport').length, 0);
  });
});
