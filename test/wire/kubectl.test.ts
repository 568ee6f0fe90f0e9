/**
 * kubectl 1.32 against the Kubernetes stand-in over HTTPS, the way `npm run sandbox` users drive it: the
 * steps run in order as one scenario (apply, re-apply, label, unlabel, read MCS objects, delete), and each
 * checks the stored objects and the audit entries the write produced.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MemorySink } from '../../sandbox/audit/sink';
import { FaultInjector } from '../../sandbox/faults';
import { type KubeServer, kubeconfigYaml, startKubeServer } from '../../sandbox/kube';
import type { LogEntry } from '../../shared/events/types';

const KUBECTL = '/usr/bin/kubectl';
const PRINCIPAL = 'bob@example.com';
const run = promisify(execFile);

const MANIFEST = (targetPort: number, extraPort = '') => `apiVersion: v1
kind: Namespace
metadata:
  name: mcs-common
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: mcs-common
  labels:
    app: nginx
spec:
  selector:
    app: nginx
  ports:
  - name: http
    port: 80
    targetPort: ${targetPort}
${extraPort}`;

const HTTPS_PORT = `  - name: https
    port: 443
`;

const available = existsSync(KUBECTL);
const title = available
  ? 'kubectl against the kube stand-in'
  : `kubectl against the kube stand-in (SKIPPED: ${KUBECTL} is missing)`;

(available ? describe : describe.skip)(title, function () {
  this.timeout(20000);
  let server: KubeServer;
  let audit: MemorySink;
  let dir: string;

  /** Runs kubectl with a private kubeconfig and discovery cache; resolves with stdout and the time taken. */
  async function kubectl(...args: string[]): Promise<{ stdout: string; ms: number }> {
    const started = Date.now();
    const { stdout } = await run(
      KUBECTL,
      [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--cache-dir',
        join(dir, 'cache'),
        '--request-timeout=10s',
        ...args,
      ],
      { timeout: 15000, env: { PATH: process.env.PATH ?? '', HOME: dir } },
    );
    return { stdout, ms: Date.now() - started };
  }

  function entries(verb: string): LogEntry[] {
    return audit.entries.filter((e) => e.protoPayload?.methodName === `io.k8s.core.v1.services.${verb}`);
  }

  function nginx() {
    return server.api.store.get('services', 'mcs-common', 'nginx') as unknown as {
      metadata: { uid: string; labels: Record<string, string> };
      spec: { clusterIP: string; ports: Array<{ name: string; port: number; targetPort: number }> };
    };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-test-'));
    audit = new MemorySink();
    server = await startKubeServer({
      cluster: { project: 'spoke-project', location: 'us-east4', name: 'gke-us-east4-cluster-1' },
      faults: new FaultInjector(),
      audit,
      principalFor: (token) => (token === 'bob-token' ? PRINCIPAL : undefined),
    });
    writeFileSync(
      join(dir, 'kubeconfig'),
      kubeconfigYaml([
        { name: 'cluster-1', server: server.url, caCertificate: server.caCertificate, token: 'bob-token' },
      ]),
    );
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get ns lists the namespaces of a new cluster (TLS verified, short name resolved)', async () => {
    const { stdout } = await kubectl('get', 'ns', '-o', 'name');
    assert.deepEqual(stdout.trim().split('\n'), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
  });

  it('apply (validation on, as by default) creates the namespace and the Service, audited as a create', async () => {
    writeFileSync(join(dir, 'nginx.yaml'), MANIFEST(8080));
    const { stdout } = await kubectl('apply', '-f', join(dir, 'nginx.yaml'));
    assert.match(stdout, /namespace\/mcs-common created/);
    assert.match(stdout, /service\/nginx created/);
    assert.deepEqual(
      nginx().spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [['http', 80, 8080]],
    );
    const [create] = entries('create');
    assert.equal(create.protoPayload?.resourceName, 'core/v1/namespaces/mcs-common/services/nginx');
    assert.equal(create.protoPayload?.authenticationInfo?.principalEmail, PRINCIPAL);
    assert.match(create.protoPayload?.requestMetadata?.callerSuppliedUserAgent ?? '', /^kubectl\//);
    const request = create.protoPayload?.request as
      | { metadata: { annotations: Record<string, string> } }
      | undefined;
    const annotations = request?.metadata.annotations ?? {};
    assert.ok(
      annotations['kubectl.kubernetes.io/last-applied-configuration'],
      'the request is what kubectl sent',
    );
  });

  it('kubectl finds, in the OpenAPI v3 documents, that the server validates fields: nothing else is downloaded', async () => {
    const { stdout } = await kubectl('get', '--raw', '/openapi/v3');
    const index = JSON.parse(stdout) as { paths: Record<string, { serverRelativeURL: string }> };
    assert.deepEqual(Object.keys(index.paths).sort(), [
      'api/v1',
      'apis/apps/v1',
      'apis/discovery.k8s.io/v1',
      'apis/net.gke.io/v1',
    ]);
    const doc = JSON.parse((await kubectl('get', '--raw', index.paths['api/v1'].serverRelativeURL)).stdout);
    const patch = doc.paths['/api/v1/namespaces/{namespace}/services/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Service' });
    assert.ok(
      patch.parameters.some(
        (p: { name: string; in: string }) => p.name === 'fieldValidation' && p.in === 'query',
      ),
    );
    const v2 = JSON.parse((await kubectl('get', '--raw', '/openapi/v2')).stdout);
    assert.equal(v2.swagger, '2.0');
    assert.ok(v2.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch);
  });

  it('re-applying a changed manifest patches the Service (strategic merge by port)', async () => {
    const before = nginx();
    writeFileSync(join(dir, 'nginx.yaml'), MANIFEST(9090, HTTPS_PORT));
    const { stdout } = await kubectl('apply', '-f', join(dir, 'nginx.yaml'));
    assert.match(stdout, /namespace\/mcs-common unchanged/);
    assert.match(stdout, /service\/nginx configured/);
    const after = nginx();
    assert.deepEqual(
      after.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [
        ['http', 80, 9090],
        ['https', 443, 443],
      ],
    );
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.spec.clusterIP, before.spec.clusterIP);
    const [patch] = entries('patch');
    const request = patch.protoPayload?.request as { '@type': string; spec: Record<string, unknown> };
    assert.equal(request['@type'], 'k8s.io/Patch');
    assert.deepEqual(request.spec['$setElementOrder/ports'], [{ port: 80 }, { port: 443 }]);
  });

  it('label adds the export label with a merge patch', async () => {
    const { stdout } = await kubectl(
      'label',
      'svc',
      'nginx',
      '-n',
      'mcs-common',
      'spokefleet.io/export=true',
    );
    assert.match(stdout, /service\/nginx labeled/);
    assert.deepEqual(nginx().metadata.labels, { app: 'nginx', 'spokefleet.io/export': 'true' });
    const patch = entries('patch').at(-1);
    assert.deepEqual(patch?.protoPayload?.request, {
      '@type': 'k8s.io/Patch',
      metadata: { labels: { 'spokefleet.io/export': 'true' } },
    });
    const { stdout: selected } = await kubectl(
      'get',
      'svc',
      '-A',
      '-l',
      'spokefleet.io/export=true',
      '-o',
      'name',
    );
    assert.equal(selected.trim(), 'service/nginx');
  });

  it('label key- removes it (the patch sends null)', async () => {
    const { stdout } = await kubectl('label', 'svc', 'nginx', '-n', 'mcs-common', 'spokefleet.io/export-');
    assert.match(stdout, /service\/nginx unlabeled/);
    assert.deepEqual(nginx().metadata.labels, { app: 'nginx' });
    const patch = entries('patch').at(-1);
    assert.deepEqual(patch?.protoPayload?.request, {
      '@type': 'k8s.io/Patch',
      metadata: { labels: { 'spokefleet.io/export': null } },
    });
  });

  it('get serviceexports -o json reads net.gke.io/v1 objects', async () => {
    server.api.store.put({
      apiVersion: 'net.gke.io/v1',
      kind: 'ServiceExport',
      metadata: {
        name: 'nginx',
        namespace: 'mcs-common',
        labels: { 'app.kubernetes.io/managed-by': 'spokefleet' },
      },
    });
    const { stdout } = await kubectl('get', 'serviceexports', '-n', 'mcs-common', '-o', 'json');
    const list = JSON.parse(stdout) as {
      items: Array<{ apiVersion: string; kind: string; metadata: { name: string } }>;
    };
    assert.deepEqual(
      list.items.map((i) => [i.apiVersion, i.kind, i.metadata.name]),
      [['net.gke.io/v1', 'ServiceExport', 'nginx']],
    );
  });

  it('delete svc returns promptly and leaves nothing behind', async () => {
    const { stdout, ms } = await kubectl('delete', 'svc', 'nginx', '-n', 'mcs-common');
    assert.match(stdout, /service "nginx" deleted/);
    assert.ok(ms < 5000, `kubectl delete took ${ms} ms`);
    assert.equal(server.api.store.get('services', 'mcs-common', 'nginx'), undefined);
    const [remove] = entries('delete');
    assert.equal(remove.protoPayload?.authenticationInfo?.principalEmail, PRINCIPAL);
    assert.equal(remove.protoPayload?.response?.status, 'Success');
  });

  it('delete ns returns promptly and removes what was in it', async () => {
    const { stdout, ms } = await kubectl('delete', 'ns', 'mcs-common');
    assert.match(stdout, /namespace "mcs-common" deleted/);
    assert.ok(ms < 5000, `kubectl delete took ${ms} ms`);
    assert.deepEqual(server.api.store.list('serviceexports'), []);
    assert.equal(server.api.store.get('namespaces', undefined, 'mcs-common'), undefined);
  });

  it('create namespace|service|deployment generators (protobuf bodies) work', async () => {
    await kubectl('create', 'namespace', 'generated');
    await kubectl('create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'generated');
    await kubectl('create', 'deployment', 'web', '--image=nginx:1.27', '-n', 'generated');
    const web = server.api.store.get('services', 'generated', 'web') as unknown as {
      spec: { ports: Array<{ port: number; targetPort: number }> };
    };
    assert.deepEqual(
      web.spec.ports.map((p) => [p.port, p.targetPort]),
      [[80, 8080]],
    );
    assert.ok(server.api.store.get('deployments', 'generated', 'web'));
    const create = entries('create').find((e) => e.protoPayload?.resourceName?.includes('/generated/'));
    assert.equal(create?.protoPayload?.resourceName, 'core/v1/namespaces/generated/services/web');
  });

  it('an unknown token gets Unauthorized', async () => {
    writeFileSync(
      join(dir, 'kubeconfig'),
      kubeconfigYaml([
        { name: 'cluster-1', server: server.url, caCertificate: server.caCertificate, token: 'nobody' },
      ]),
    );
    await assert.rejects(kubectl('get', 'svc', '-A'), (error: { stderr: string }) =>
      /Unauthorized/.test(error.stderr),
    );
  });
});
