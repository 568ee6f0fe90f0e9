/**
 * An exported Service's health: the pure assessment and its one line, and the reads and Events around it (which
 * member clusters are asked, what is created with `namespaces: auto`, what is logged when, and that a failure to
 * read it never fails the export).
 */
import assert from 'node:assert/strict';
import {
  assessExport,
  badConditions,
  checkExportHealth,
  type ExportCondition,
  fleetMembers,
  healthMessage,
} from '../../shared/reconcile/export-health';
import { FakeCloud, type FakeKube, memberClusters } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { kubeError } from '../fakes/errors';

const NS = 'mcs-common';
const SERVICE = { metadata: { uid: 'uid-nginx' } };

function imported(kube: FakeKube, namespace = NS, name = 'nginx'): void {
  kube.imports.set(`${namespace}/${name}`, {
    metadata: { name, namespace },
    ips: ['10.255.0.1'],
    ports: [{ port: 80 }],
    clusters: ['cluster-1'],
  });
}

const calls = (cloud: FakeCloud, kube: FakeKube, method: string) =>
  cloud.log.calls.filter((c) => c.api === `kube:${kube.cluster}` && c.method === method).length;

describe('export health: conditions', () => {
  const table: Array<[ExportCondition, boolean]> = [
    [{ type: 'Conflict', status: 'True' }, true],
    [{ type: 'Conflict', status: 'False' }, false],
    [{ type: 'Exported', status: 'False' }, true],
    [{ type: 'Exported', status: 'Unknown' }, true],
    [{ type: 'Initialized', status: 'True' }, false],
  ];
  for (const [condition, bad] of table) {
    it(`${condition.type}=${condition.status} is ${bad ? 'a problem' : 'fine'}`, () => {
      assert.deepEqual(badConditions([condition]), bad ? [condition] : []);
    });
  }
});

describe('export health: assessment and its line', () => {
  it('lists members in cluster order, whatever order they were read in', () => {
    const h = assessExport(
      NS,
      'nginx',
      [],
      [
        { cluster: 'p/l/c', hasNamespace: true, imported: true },
        { cluster: 'p/l/a', hasNamespace: false, imported: false },
        { cluster: 'p/l/b', hasNamespace: true, imported: true },
        { cluster: 'p/l/d', hasNamespace: false, imported: false },
      ],
    );
    assert.deepEqual(h.members, ['p/l/a', 'p/l/b', 'p/l/c', 'p/l/d']);
    assert.deepEqual(h.importedIn, ['p/l/b', 'p/l/c']);
    assert.deepEqual(h.missingNamespace, ['p/l/a', 'p/l/d']);
    assert.equal(h.ok, false);
  });

  it('one unreadable member is enough to need a look', () => {
    const h = assessExport(
      NS,
      'nginx',
      [],
      [
        { cluster: 'p/l/a', hasNamespace: true, imported: true },
        { cluster: 'p/l/b', error: '503 unavailable' },
      ],
    );
    assert.deepEqual(h.unreadable, ['p/l/b']);
    assert.deepEqual(h.importedIn, ['p/l/a']);
    assert.equal(h.ok, false);
  });

  it('members with the namespace and no import yet are fine (GKE imports within minutes)', () => {
    const h = assessExport(
      NS,
      'nginx',
      [{ type: 'Exported', status: 'True' }],
      [
        { cluster: 'p/l/a', hasNamespace: true, imported: true },
        { cluster: 'p/l/b', hasNamespace: true, imported: false },
      ],
    );
    assert.equal(h.ok, true);
    assert.equal(healthMessage(h), `Imported in 1 of 2 member clusters as nginx.${NS}.svc.clusterset.local`);
  });

  it('the line names every problem, each list in cluster order', () => {
    const h = assessExport(
      NS,
      'nginx',
      [
        { type: 'Conflict', status: 'True', reason: 'PortConflict', message: 'ports differ' },
        { type: 'Exported', status: 'False' },
      ],
      [
        { cluster: 'p/l/e', error: 'x' },
        { cluster: 'p/l/d', hasNamespace: true, namespaceCreated: true, imported: false },
        { cluster: 'p/l/c', hasNamespace: false, imported: false },
        { cluster: 'p/l/b', hasNamespace: true, namespaceCreated: true, imported: false },
        { cluster: 'p/l/a', hasNamespace: false, imported: false },
        { cluster: 'p/l/f', error: 'y' },
      ],
    );
    assert.equal(
      healthMessage(h),
      [
        `Imported in 0 of 6 member clusters as nginx.${NS}.svc.clusterset.local`,
        `namespace ${NS} is missing in p/l/a, p/l/c (MCS imports a Service only into clusters that have its namespace)`,
        `namespace ${NS} created in p/l/b, p/l/d`,
        'could not read p/l/e, p/l/f',
        'ServiceExport condition Conflict=True (PortConflict): ports differ',
        'ServiceExport condition Exported=False',
      ].join('; '),
    );
  });
});

describe('export health: the member clusters', () => {
  it('only members in the projects this deployment manages, and only GKE clusters', async () => {
    const cloud = new FakeCloud();
    memberClusters(cloud, 1);
    memberClusters(cloud, 1, 'spoke-prj-two', 2);
    memberClusters(cloud, 1, 'elsewhere', 3);
    cloud.memberships.set(`projects/${FLEET}/locations/global/memberships/attached`, {
      name: `projects/${FLEET}/locations/global/memberships/attached`,
      resourceLink: '//eks.amazonaws.com/clusters/elsewhere',
      labels: {},
    });
    const members = await fleetMembers(testContext(cloud).ctx);
    assert.deepEqual(
      members.map((m) => `${m.ref.project}/${m.ref.name} ${m.membership.split('/').at(-1)}`),
      [`${PROJECT}/cluster-1 ${PROJECT}-cluster-1`, 'spoke-prj-two/cluster-2 spoke-prj-two-cluster-2'],
    );
  });

  it('namespaces: auto creates the namespace in every member that lacks it, and says so', async () => {
    const cloud = new FakeCloud();
    const [one, two, three] = memberClusters(cloud, 3);
    one.kube.namespaces.set(NS, {});
    imported(one.kube);
    const { ctx, transport } = testContext(cloud, { namespaces: 'auto' });
    const health = await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    for (const m of [two, three])
      assert.deepEqual(m.kube.namespaces.get(NS), { 'app.kubernetes.io/managed-by': 'spokefleet' });
    assert.deepEqual(health?.missingNamespace, []);
    assert.deepEqual(health?.createdNamespace, [two.kube.cluster, three.kube.cluster]);
    assert.deepEqual(
      one.kube.events.map((e) => [e.type, e.message]),
      [
        [
          'Normal',
          `Imported in 1 of 3 member clusters as nginx.${NS}.svc.clusterset.local; namespace ${NS} created in ${two.kube.cluster}, ${three.kube.cluster}`,
        ],
      ],
    );
    assert.deepEqual(
      transport
        .records()
        .filter((r) => /^created namespace/.test(String(r.message)))
        .map((r) => [r.severity, r.message, r.cluster, r.namespace]),
      [two, three].map((m) => [
        'INFO',
        `created namespace ${NS} in ${m.kube.cluster} for an exported Service`,
        m.kube.cluster,
        NS,
      ]),
    );
    // A namespace created just now holds no import yet: not asked.
    assert.equal(calls(cloud, two.kube, 'listServiceImports'), 0);
  });

  it('namespaces: auto, created concurrently by someone else: there, not created by us, its imports read', async () => {
    const cloud = new FakeCloud();
    const [one, two] = memberClusters(cloud, 2);
    one.kube.namespaces.set(NS, {});
    const create = two.kube.createNamespace.bind(two.kube);
    two.kube.createNamespace = async (name, labels) => {
      two.kube.namespaces.set(name, {});
      imported(two.kube);
      return create(name, labels);
    };
    const { ctx } = testContext(cloud, { namespaces: 'auto' });
    const health = await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.deepEqual(health?.createdNamespace, []);
    assert.deepEqual(health?.missingNamespace, []);
    assert.deepEqual(health?.importedIn, [two.kube.cluster]);
  });

  it('namespaces: auto, the create is forbidden: that member could not be read, and the WARNING says why', async () => {
    const cloud = new FakeCloud();
    const [one, two] = memberClusters(cloud, 2);
    one.kube.namespaces.set(NS, {});
    cloud.log.failures.set(`kube:${two.kube.cluster}.createNamespace`, () =>
      kubeError(403, 'namespaces is forbidden'),
    );
    const { ctx, transport } = testContext(cloud, { namespaces: 'auto' });
    const health = await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.deepEqual(health?.unreadable, [two.kube.cluster]);
    assert.equal(one.kube.events[0].type, 'Warning');
    assert.match(one.kube.events[0].message, new RegExp(`; could not read ${two.kube.cluster}$`));
    const warnings = transport.records().filter((r) => r.severity === 'WARNING');
    assert.deepEqual(
      warnings.map((r) => r.error),
      [`${two.kube.cluster}: 403 Forbidden: namespaces is forbidden`],
    );
  });

  it('a member without the namespace is not asked for its ServiceImports', async () => {
    const cloud = new FakeCloud();
    const [one, two] = memberClusters(cloud, 2);
    one.kube.namespaces.set(NS, {});
    const health = await checkExportHealth(testContext(cloud).ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.deepEqual(health?.missingNamespace, [two.kube.cluster]);
    assert.equal(calls(cloud, one.kube, 'listServiceImports'), 1);
    assert.equal(calls(cloud, two.kube, 'listServiceImports'), 0);
  });

  it('each namespace is looked up in each member for itself', async () => {
    const cloud = new FakeCloud();
    const [one, two] = memberClusters(cloud, 2);
    for (const m of [one, two]) m.kube.namespaces.set('team-a', {});
    one.kube.namespaces.set(NS, {});
    const { ctx } = testContext(cloud);
    const a = await checkExportHealth(ctx, one.kube, one.ref, 'team-a', 'web', SERVICE);
    const b = await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.deepEqual(a?.missingNamespace, []);
    assert.deepEqual(b?.missingNamespace, [two.kube.cluster]);
  });
});

describe('export health: Events and log lines', () => {
  it('the Event is on the Service; a Normal one is one INFO line naming the cluster and the Service', async () => {
    const cloud = new FakeCloud();
    const [one] = memberClusters(cloud, 1);
    one.kube.namespaces.set(NS, {});
    imported(one.kube);
    one.kube.addExport(NS, 'nginx');
    const { ctx, transport } = testContext(cloud);
    await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.deepEqual(one.kube.events[0].involved, {
      kind: 'Service',
      apiVersion: 'v1',
      name: 'nginx',
      uid: 'uid-nginx',
    });
    const lines = transport.records().filter((r) => /^export health/.test(String(r.message)));
    assert.deepEqual(
      lines.map((r) => [r.severity, r.message, r.cluster, r.service, r.error]),
      [
        [
          'INFO',
          `export health: Imported in 1 of 1 member clusters as nginx.${NS}.svc.clusterset.local`,
          one.kube.cluster,
          `${NS}/nginx`,
          undefined,
        ],
      ],
    );
  });

  it('the same health again: no new Event and no line; an unreadable member is logged again with why', async () => {
    const cloud = new FakeCloud();
    const [one, two, three] = memberClusters(cloud, 3);
    one.kube.namespaces.set(NS, {});
    three.kube.namespaces.set(NS, {});
    const healthLines = (t: ReturnType<typeof testContext>['transport']) =>
      t.records().filter((r) => /^export health/.test(String(r.message)));
    // Healthy and unchanged: silent the second time.
    for (const expected of [1, 0]) {
      const { ctx, transport } = testContext(cloud);
      await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE, undefined);
      if (expected === 0) assert.equal(healthLines(transport).length, 0);
    }
    assert.equal(one.kube.events.length, 1);
    cloud.log.failures.set(`kube:${two.kube.cluster}.getNamespace`, () => kubeError(503, 'unavailable'));
    for (let i = 0; i < 2; i++) {
      const { ctx, transport } = testContext(cloud);
      await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
      assert.deepEqual(
        healthLines(transport).map((r) => [r.severity, r.error]),
        [['WARNING', `${two.kube.cluster}: 503 ServiceUnavailable: unavailable`]],
      );
    }
    assert.equal(one.kube.events.length, 2);
  });

  it('an export gone by the time its health is read: assessed without conditions', async () => {
    const cloud = new FakeCloud();
    const [one] = memberClusters(cloud, 1);
    one.kube.namespaces.set(NS, {});
    const health = await checkExportHealth(testContext(cloud).ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.equal(health?.ok, true);
    assert.deepEqual(health?.badConditions, []);
    assert.equal(one.kube.events[0].type, 'Normal');
  });

  it('without a Service: the health is returned, nothing recorded', async () => {
    const cloud = new FakeCloud();
    const [one] = memberClusters(cloud, 1);
    one.kube.namespaces.set(NS, {});
    const health = await checkExportHealth(testContext(cloud).ctx, one.kube, one.ref, NS, 'nginx', undefined);
    assert.equal(health?.dnsName, `nginx.${NS}.svc.clusterset.local`);
    assert.deepEqual(cloud.log.writes(), []);
    assert.equal(calls(cloud, one.kube, 'listEventNames'), 0);
  });

  it('health that cannot be read is one WARNING line, never a failure of the export', async () => {
    const cloud = new FakeCloud();
    const [one] = memberClusters(cloud, 1);
    one.kube.namespaces.set(NS, {});
    cloud.log.failures.set(`kube:${one.kube.cluster}.listEventNames`, () =>
      kubeError(403, 'events is forbidden'),
    );
    const { ctx, transport } = testContext(cloud);
    const health = await checkExportHealth(ctx, one.kube, one.ref, NS, 'nginx', SERVICE);
    assert.equal(health, undefined);
    assert.deepEqual(
      transport
        .records()
        .filter((r) => r.severity === 'WARNING')
        .map((r) => [r.message, r.cluster, r.error]),
      [
        [
          `could not check the health of export ${NS}/nginx`,
          one.kube.cluster,
          '403 Forbidden: events is forbidden',
        ],
      ],
    );
  });

  it('each cluster’s health Events are listed from that cluster, once per invocation', async () => {
    const cloud = new FakeCloud();
    const [one, two] = memberClusters(cloud, 2);
    for (const m of [one, two]) m.kube.namespaces.set(NS, {});
    const { ctx } = testContext(cloud);
    for (const name of ['a', 'b']) {
      for (const m of [one, two]) await checkExportHealth(ctx, m.kube, m.ref, NS, name, SERVICE);
    }
    assert.deepEqual(
      [one, two].map((m) => calls(cloud, m.kube, 'listEventNames')),
      [1, 1],
    );
  });
});
