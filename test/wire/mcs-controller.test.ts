/**
 * The stand-in MCS controller, read and written only through @kubernetes/client-node as a developer would: a
 * ServiceExport in one member cluster makes a `net.gke.io/v1` ServiceImport appear in every member cluster that
 * has the namespace; the export gets GKE's conditions; exporting clusters that disagree on ports get a Conflict.
 */
import assert from 'node:assert/strict';
import { type Sandbox, startSandbox } from '../../sandbox/harness';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deployNginx,
  developerKube,
  ensureNamespace,
  SEED_CLUSTERS,
  until,
} from '../../sandbox/scenario';

const MCS = { group: 'net.gke.io', version: 'v1' } as const;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

describe('wire: the stand-in MCS controller (ServiceImports, ServiceExport conditions)', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;

  const exportService = (ref = CLUSTER_1, namespace = 'mcs-common', name = 'nginx') =>
    developerKube(sandbox, ref).custom.createNamespacedCustomObject({
      ...MCS,
      plural: 'serviceexports',
      namespace,
      body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name, namespace } },
    });
  const importIn = async (ref: typeof CLUSTER_1, namespace: string, name: string) => {
    try {
      return (await developerKube(sandbox, ref).custom.getNamespacedCustomObject({
        ...MCS,
        plural: 'serviceimports',
        namespace,
        name,
      })) as { apiVersion: string; spec: { type: string; ips: string[]; ports: unknown[] }; status: unknown };
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  const conditionsOf = async (ref: typeof CLUSTER_1, namespace: string, name: string) =>
    (
      (await developerKube(sandbox, ref).custom.getNamespacedCustomObject({
        ...MCS,
        plural: 'serviceexports',
        namespace,
        name,
      })) as { status?: { conditions?: Condition[] } }
    ).status?.conditions ?? [];

  before(async () => {
    sandbox = await startSandbox();
    await createCluster(sandbox, CLUSTER_1, SEED_CLUSTERS[0].spec);
    await createCluster(sandbox, CLUSTER_2, SEED_CLUSTERS[1].spec);
    await sandbox.settle();
    await until(
      () => sandbox.cloud.kube(CLUSTER_1).api.servesMcs && sandbox.cloud.kube(CLUSTER_2).api.servesMcs,
      'net.gke.io served in both clusters',
    );
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('an export in cluster-1 is imported in both member clusters, with its ports and a clusterset IP', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'imp-a');
    await exportService(CLUSTER_1, 'mcs-common', 'imp-a');
    await until(async () => (await importIn(CLUSTER_2, 'mcs-common', 'imp-a')) !== undefined, 'import');
    for (const ref of [CLUSTER_1, CLUSTER_2]) {
      const imported = await importIn(ref, 'mcs-common', 'imp-a');
      assert.equal(imported?.apiVersion, 'net.gke.io/v1');
      assert.equal(imported?.spec.type, 'ClusterSetIP');
      assert.deepEqual(imported?.spec.ports, [{ name: 'http', port: 80, protocol: 'TCP' }]);
      assert.match(imported?.spec.ips[0] ?? '', /^10\.255\.\d+\.\d+$/);
      assert.deepEqual(imported?.status, { clusters: [{ cluster: CLUSTER_1.name }] });
    }
    const conditions = await conditionsOf(CLUSTER_1, 'mcs-common', 'imp-a');
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status]),
      [
        ['Initialized', 'True'],
        ['Exported', 'True'],
      ],
    );
  });

  it('a member cluster without the namespace gets no import until the namespace exists', async () => {
    await ensureNamespace(sandbox, CLUSTER_1, 'team-only-1');
    await deployNginx(sandbox, CLUSTER_1, 'team-only-1', 'imp-b');
    await exportService(CLUSTER_1, 'team-only-1', 'imp-b');
    await until(async () => (await importIn(CLUSTER_1, 'team-only-1', 'imp-b')) !== undefined, 'import');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await importIn(CLUSTER_2, 'team-only-1', 'imp-b'), undefined);
    await ensureNamespace(sandbox, CLUSTER_2, 'team-only-1');
    await until(async () => (await importIn(CLUSTER_2, 'team-only-1', 'imp-b')) !== undefined, 'late import');
  });

  it('two exporting clusters that disagree on ports: Conflict/PortConflict on both, the oldest wins a clash', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'imp-c');
    await exportService(CLUSTER_1, 'mcs-common', 'imp-c');
    await until(async () => (await importIn(CLUSTER_2, 'mcs-common', 'imp-c')) !== undefined, 'import');
    const { core } = developerKube(sandbox, CLUSTER_2);
    await core.createNamespacedService({
      namespace: 'mcs-common',
      body: {
        metadata: { name: 'imp-c', namespace: 'mcs-common' },
        spec: { selector: { app: 'imp-c' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
      },
    });
    await exportService(CLUSTER_2, 'mcs-common', 'imp-c');
    for (const ref of [CLUSTER_1, CLUSTER_2]) {
      await until(
        async () => (await conditionsOf(ref, 'mcs-common', 'imp-c')).some((c) => c.type === 'Conflict'),
        `Conflict in ${ref.name}`,
      );
      const conflict = (await conditionsOf(ref, 'mcs-common', 'imp-c')).find((c) => c.type === 'Conflict');
      assert.equal(conflict?.status, 'True');
      assert.equal(conflict?.reason, 'PortConflict');
      assert.match(
        conflict?.message ?? '',
        /oldest service export in "gke-us-east4-cluster-1".*1\/2 clusters disagree: "gke-us-east4-cluster-2"/,
      );
      const imported = await importIn(ref, 'mcs-common', 'imp-c');
      assert.deepEqual(imported?.spec.ports, [{ name: 'http', port: 80, protocol: 'TCP' }]);
    }
    // Agreeing again clears the conflict.
    await core.patchNamespacedService({
      name: 'imp-c',
      namespace: 'mcs-common',
      body: [{ op: 'replace', path: '/spec/ports/0/port', value: 80 }],
    });
    await until(
      async () => !(await conditionsOf(CLUSTER_1, 'mcs-common', 'imp-c')).some((c) => c.type === 'Conflict'),
      'conflict cleared',
    );
  });

  it('ports that can both be kept: the import exposes their union, with a PortConflict', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'imp-d');
    await exportService(CLUSTER_1, 'mcs-common', 'imp-d');
    await until(async () => (await importIn(CLUSTER_2, 'mcs-common', 'imp-d')) !== undefined, 'import');
    await developerKube(sandbox, CLUSTER_2).core.createNamespacedService({
      namespace: 'mcs-common',
      body: {
        metadata: { name: 'imp-d', namespace: 'mcs-common' },
        spec: { selector: { app: 'imp-d' }, ports: [{ name: 'metrics', port: 9090, targetPort: 9090 }] },
      },
    });
    await exportService(CLUSTER_2, 'mcs-common', 'imp-d');
    await until(
      async () => ((await importIn(CLUSTER_1, 'mcs-common', 'imp-d'))?.spec.ports.length ?? 0) === 2,
      'union of ports',
    );
    assert.deepEqual((await importIn(CLUSTER_2, 'mcs-common', 'imp-d'))?.spec.ports, [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
    const conflict = (await conditionsOf(CLUSTER_2, 'mcs-common', 'imp-d')).find(
      (c) => c.type === 'Conflict',
    );
    assert.equal(conflict?.reason, 'PortConflict');
  });

  it('the import goes when the last export goes', async () => {
    await developerKube(sandbox, CLUSTER_1).custom.deleteNamespacedCustomObject({
      ...MCS,
      plural: 'serviceexports',
      namespace: 'mcs-common',
      name: 'imp-a',
    });
    await until(async () => (await importIn(CLUSTER_2, 'mcs-common', 'imp-a')) === undefined, 'import gone');
  });
});
