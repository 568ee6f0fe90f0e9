/**
 * Multi-Cluster Services end to end, through the real Kubernetes client against the stand-ins: a labelled
 * Service is exported by the functions, imported in the other member by the stand-in MCS controller, reported
 * as an ExportHealth Event on the Service and by `spokefleet status --services`; a port conflict between two
 * exporting clusters shows up in both with GKE's reason; a namespace missing in a member is named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceStatus } from '../../cli/commands/services';
import { run } from '../../cli/program';
import { type Sandbox, sandboxEndpoints, startSandbox } from '../../sandbox/harness';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deployNginx,
  developerKube,
  ensureNamespace,
  importedIn,
  labelService,
  SEED_CLUSTERS,
  until,
} from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { refString } from '../../shared/reconcile/names';

const LABEL = 'spokefleet.io/export';

describe('e2e: MCS imports, export health and `status --services`', function () {
  this.timeout(90_000);
  let sandbox: Sandbox;
  let endpoints: string;

  const imported = (ref: ClusterRef, namespace: string, name: string) =>
    importedIn(sandbox, ref, namespace, name);

  const healthEvents = async (ref: ClusterRef, namespace: string, name: string) =>
    (
      await developerKube(sandbox, ref).core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name},reason=ExportHealth`,
      })
    ).items.map((e) => ({ type: e.type, message: e.message ?? '' }));
  const reconcile = async (ref: ClusterRef) => {
    await sandbox.requestReconcile({
      scope: 'cluster',
      project: ref.project,
      location: ref.location,
      cluster: ref.name,
    });
    await sandbox.settle();
  };
  const servicesStatus = async () => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: { METADATA_SERVER_DETECTION: 'none' },
      cwd: process.cwd(),
    };
    const code = await run(['status', '--services', '--json', '--sandbox', endpoints], io);
    assert.equal(stderr.includes('error'), false, stderr);
    return { code, services: (JSON.parse(stdout) as { services: ServiceStatus[] }).services };
  };

  before(async () => {
    sandbox = await startSandbox();
    await createCluster(sandbox, CLUSTER_1, SEED_CLUSTERS[0].spec);
    await createCluster(sandbox, CLUSTER_2, SEED_CLUSTERS[1].spec);
    await sandbox.settle();
    endpoints = join(mkdtempSync(join(tmpdir(), 'spokefleet-mcs-')), 'endpoints.json');
    writeFileSync(endpoints, JSON.stringify(sandboxEndpoints(sandbox)));
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('labelling a Service: imported in the other member within seconds; the Event and status say so', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'web');
    const labelled = Date.now();
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'web', { [LABEL]: 'true' });
    await until(() => imported(CLUSTER_2, 'mcs-common', 'web'), 'import in cluster-2', 5_000);
    const seconds = (Date.now() - labelled) / 1000;
    assert.ok(seconds < 5, `imported after ${seconds} s`);

    await reconcile(CLUSTER_1);
    const events = await healthEvents(CLUSTER_1, 'mcs-common', 'web');
    assert.ok(
      events.some(
        (e) =>
          e.type === 'Normal' &&
          e.message === 'Imported in 2 of 2 member clusters as web.mcs-common.svc.clusterset.local',
      ),
      JSON.stringify(events),
    );
    // The same health on the next reconcile records no second Event.
    const count = events.length;
    await reconcile(CLUSTER_1);
    assert.equal((await healthEvents(CLUSTER_1, 'mcs-common', 'web')).length, count);

    const { code, services } = await servicesStatus();
    const row = services.find((s) => s.service === 'mcs-common/web');
    assert.deepEqual(
      {
        exporting: row?.exporting,
        importing: row?.importing,
        dns: row?.dnsName,
        problems: row?.problems,
      },
      {
        exporting: [refString(CLUSTER_1)],
        importing: [refString(CLUSTER_1), refString(CLUSTER_2)].sort(),
        dns: 'web.mcs-common.svc.clusterset.local',
        problems: [],
      },
    );
    assert.equal(code, 0);
  });

  it('two exporting clusters disagree on ports: PortConflict in the Event and as a problem in status', async () => {
    const { core } = developerKube(sandbox, CLUSTER_2);
    await core.createNamespacedService({
      namespace: 'mcs-common',
      body: {
        metadata: { name: 'web', namespace: 'mcs-common', labels: { [LABEL]: 'true' } },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
      },
    });
    await sandbox.settle();
    await until(
      async () =>
        (await servicesStatus()).services.some((s) => s.conditions.some((c) => c.reason === 'PortConflict')),
      'PortConflict condition',
    );
    const { code, services } = await servicesStatus();
    const row = services.find((s) => s.service === 'mcs-common/web');
    assert.deepEqual(row?.exporting, [refString(CLUSTER_1), refString(CLUSTER_2)].sort());
    assert.ok(
      row?.problems.some((p) =>
        p.startsWith(`Conflict=True (PortConflict) on ${refString(CLUSTER_1)}, ${refString(CLUSTER_2)}: `),
      ),
      JSON.stringify(row?.problems),
    );
    assert.equal(code, 1);

    await reconcile(CLUSTER_2);
    const events = await healthEvents(CLUSTER_2, 'mcs-common', 'web');
    assert.ok(
      events.some(
        (e) =>
          e.type === 'Warning' && /ServiceExport condition Conflict=True \(PortConflict\)/.test(e.message),
      ),
      JSON.stringify(events),
    );
  });

  it("a namespace missing in a member is named, in status and in the Service's Event", async () => {
    await ensureNamespace(sandbox, CLUSTER_1, 'team-solo');
    await deployNginx(sandbox, CLUSTER_1, 'team-solo', 'api');
    await labelService(sandbox, CLUSTER_1, 'team-solo', 'api', { [LABEL]: 'true' });
    await sandbox.settle();
    await until(() => imported(CLUSTER_1, 'team-solo', 'api'), 'import in cluster-1');
    const { services } = await servicesStatus();
    const row = services.find((s) => s.service === 'team-solo/api');
    assert.deepEqual(row?.importing, [refString(CLUSTER_1)]);
    assert.ok(
      row?.problems.includes(`namespace team-solo missing in ${refString(CLUSTER_2)} (not imported there)`),
      JSON.stringify(row?.problems),
    );
    const last = (await healthEvents(CLUSTER_1, 'team-solo', 'api')).at(-1);
    assert.equal(last?.type, 'Warning');
    assert.match(
      last?.message ?? '',
      new RegExp(`namespace team-solo is missing in ${refString(CLUSTER_2)}`),
    );
  });
});

describe('e2e: namespaces "auto" creates an exported Service\'s namespace in every member', function () {
  this.timeout(90_000);
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox({ config: { namespaces: 'auto' } });
    await createCluster(sandbox, CLUSTER_1, SEED_CLUSTERS[0].spec);
    await createCluster(sandbox, CLUSTER_2, SEED_CLUSTERS[1].spec);
    await sandbox.settle();
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('no seed namespace up front; exporting from team-x creates team-x (managed) in the other member, which imports it', async () => {
    const namespaceIn = async (ref: ClusterRef, name: string) => {
      try {
        return await developerKube(sandbox, ref).core.readNamespace({ name });
      } catch {
        return undefined;
      }
    };
    assert.equal(await namespaceIn(CLUSTER_2, 'mcs-common'), undefined, 'nothing seeded');
    await ensureNamespace(sandbox, CLUSTER_1, 'team-x');
    await deployNginx(sandbox, CLUSTER_1, 'team-x', 'svc');
    await labelService(sandbox, CLUSTER_1, 'team-x', 'svc', { [LABEL]: 'true' });
    await sandbox.settle();
    const created = await namespaceIn(CLUSTER_2, 'team-x');
    assert.equal(created?.metadata?.labels?.['app.kubernetes.io/managed-by'], 'spokefleet');
    await until(async () => {
      try {
        await developerKube(sandbox, CLUSTER_2).custom.getNamespacedCustomObject({
          group: 'net.gke.io',
          version: 'v1',
          plural: 'serviceimports',
          namespace: 'team-x',
          name: 'svc',
        });
        return true;
      } catch {
        return false;
      }
    }, 'import in cluster-2');
  });
});
