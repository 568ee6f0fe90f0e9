/**
 * Service export end to end: Services written through the Kubernetes API (client-node with a
 * developer's token, and kubectl) emit k8s.io audit entries, which reach onAuditLogEvent; it re-reads the Service
 * and converges its ServiceExport.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serviceAuditEntry } from '../../sandbox/audit/entries';
import { type Sandbox, startSandbox } from '../../sandbox/harness';
import { kubeconfigYaml } from '../../sandbox/kube';
import { DEVELOPER_TOKEN } from '../../sandbox/local-cloud';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deleteService,
  deployNginx,
  developerKube,
  ensureNamespace,
  labelService,
  SEED_CLUSTERS,
  until,
} from '../../sandbox/scenario';
import { callsSince, writesSince } from './helpers';

const LABEL = 'spokefleet.io/export';
const execFileAsync = promisify(execFile);

describe('e2e: Service export through functions-framework and direct CloudEvent delivery', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  const exportOf = (ns: string, name: string, ref = CLUSTER_1) =>
    sandbox.cloud.kube(ref).api.store.get('serviceexports', ns, name);

  before(async () => {
    sandbox = await startSandbox();
    await createCluster(sandbox, CLUSTER_1, SEED_CLUSTERS[0].spec);
    await createCluster(sandbox, CLUSTER_2, SEED_CLUSTERS[1].spec);
    await sandbox.settle();
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('label → ServiceExport (labelled managed-by); the label patch carries only the patch', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'web-a');
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'web-a', { [LABEL]: 'true' });
    await sandbox.settle();
    const created = exportOf('mcs-common', 'web-a');
    assert.ok(created, 'ServiceExport created');
    assert.equal(created.apiVersion, 'net.gke.io/v1');
    assert.equal(created.metadata.labels?.['app.kubernetes.io/managed-by'], 'spokefleet');
  });

  it('the same audit entry three times writes nothing more', async () => {
    const entry = serviceAuditEntry({
      verb: 'patch',
      cluster: CLUSTER_1,
      namespace: 'mcs-common',
      name: 'web-a',
      principal: 'developer@example.com',
      request: { metadata: { labels: { [LABEL]: 'true' } } },
    });
    // Once first, after the MCS controller has imported it: the export's health Event then says "2 of 2", and
    // any change of health since the export (an Event) is not what this test is about.
    await until(
      () =>
        sandbox.cloud.kube(CLUSTER_2).api.store.get('serviceimports', 'mcs-common', 'web-a') !== undefined,
      'import in cluster-2',
    );
    sandbox.auditDelivery!.emit(entry);
    await sandbox.settle();
    const before = sandbox.cloud.faults.counters();
    for (let i = 0; i < 3; i++) sandbox.auditDelivery!.emit(entry);
    await sandbox.settle();
    assert.deepEqual(writesSince(sandbox, before), {});
  });

  it('unlabel → the export goes; a delete → the export goes', async () => {
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'web-a', { [LABEL]: null });
    await sandbox.settle();
    assert.equal(exportOf('mcs-common', 'web-a'), undefined);

    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'web-b');
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'web-b', { [LABEL]: 'true' });
    await sandbox.settle();
    assert.ok(exportOf('mcs-common', 'web-b'));
    await deleteService(sandbox, CLUSTER_1, 'mcs-common', 'web-b');
    await sandbox.settle();
    assert.equal(exportOf('mcs-common', 'web-b'), undefined);
  });

  it('a late create entry for a deleted Service does not resurrect its export', async () => {
    const lateCreate = serviceAuditEntry({
      verb: 'create',
      cluster: CLUSTER_1,
      namespace: 'mcs-common',
      name: 'web-b',
      principal: 'developer@example.com',
      request: { metadata: { name: 'web-b', labels: { [LABEL]: 'true' } } },
      response: { metadata: { name: 'web-b', namespace: 'mcs-common', labels: { [LABEL]: 'true' } } },
    });
    const before = sandbox.cloud.faults.counters();
    sandbox.auditDelivery!.emit(lateCreate);
    await sandbox.settle();
    assert.equal(exportOf('mcs-common', 'web-b'), undefined);
    assert.deepEqual(writesSince(sandbox, before), {});
  });

  it('a Service in default is refused with one Warning Event, however often it is labelled', async () => {
    await ensureNamespace(sandbox, CLUSTER_1, 'default');
    await deployNginx(sandbox, CLUSTER_1, 'default', 'web-d');
    await labelService(sandbox, CLUSTER_1, 'default', 'web-d', { [LABEL]: 'true' });
    await labelService(sandbox, CLUSTER_1, 'default', 'web-d', { [LABEL]: 'true', touched: '1' });
    await sandbox.settle();
    assert.equal(exportOf('default', 'web-d'), undefined);
    const events = sandbox.cloud.kube(CLUSTER_1).api.store.list('events', 'default') as unknown as Array<{
      reason: string;
      type: string;
      message: string;
      involvedObject: { name: string };
    }>;
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'ExportRefused');
    assert.equal(events[0].type, 'Warning');
    assert.equal(events[0].involvedObject.name, 'web-d');
    assert.match(events[0].message, /namespace default cannot be exported/);
    const warning = sandbox.audit.logs.find((l) => l.severity === 'WARNING' && l.outcome === 'refused');
    assert.ok(warning, 'one structured WARNING line');
  });

  it('a user-owned ServiceExport is never deleted', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common', 'theirs');
    const { custom } = developerKube(sandbox, CLUSTER_1);
    await custom.createNamespacedCustomObject({
      group: 'net.gke.io',
      version: 'v1',
      plural: 'serviceexports',
      namespace: 'mcs-common',
      body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name: 'theirs' } },
    });
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'theirs', { unrelated: 'x' });
    await deleteService(sandbox, CLUSTER_1, 'mcs-common', 'theirs');
    await sandbox.settle();
    assert.ok(exportOf('mcs-common', 'theirs'), 'user-owned export kept');
  });

  it("Service writes under Spokefleet's own identity are ignored without a single API call", async () => {
    const before = sandbox.cloud.faults.counters();
    sandbox.auditDelivery!.emit(
      serviceAuditEntry({
        verb: 'patch',
        cluster: CLUSTER_1,
        namespace: 'mcs-common',
        name: 'nginx',
        principal: sandbox.cloud.selfPrincipal,
      }),
    );
    await sandbox.settle();
    assert.equal(callsSince(sandbox, before), 0);
  });

  it('kubectl: label a Service, see its ServiceExport with kubectl, unlabel it, see it go', async function () {
    if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'spokefleet-kubectl-'));
    const kube = sandbox.cloud.kube(CLUSTER_2);
    writeFileSync(
      join(dir, 'kubeconfig'),
      kubeconfigYaml(
        [{ name: 'c2', server: kube.url, caCertificate: kube.caCertificate, token: DEVELOPER_TOKEN }],
        'c2',
      ),
    );
    // Asynchronous on purpose: the Kubernetes API being called lives in this very process.
    const kubectl = async (...args: string[]) => {
      const { stdout } = await execFileAsync(
        'kubectl',
        ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
        { encoding: 'utf8', timeout: 20_000 },
      );
      return stdout;
    };
    writeFileSync(
      join(dir, 'svc.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: mcs-common\nspec:\n  selector:\n    app: api\n  ports:\n  - port: 8080\n',
    );
    await kubectl('apply', '--validate=false', '-f', join(dir, 'svc.yaml'));
    await kubectl('label', 'svc', 'api', '-n', 'mcs-common', `${LABEL}=true`);
    await sandbox.settle();
    await until(() => exportOf('mcs-common', 'api', CLUSTER_2) !== undefined, 'export of api');
    const listed = JSON.parse(await kubectl('get', 'serviceexports', '-n', 'mcs-common', '-o', 'json')) as {
      items: Array<{ metadata: { name: string } }>;
    };
    assert.deepEqual(
      listed.items.map((i) => i.metadata.name),
      ['api'],
    );
    await kubectl('label', 'svc', 'api', '-n', 'mcs-common', `${LABEL}-`);
    await sandbox.settle();
    assert.equal(exportOf('mcs-common', 'api', CLUSTER_2), undefined);
    assert.doesNotMatch(await kubectl('get', 'serviceexports', '-n', 'mcs-common'), /\bapi\b/);
  });
});
