/**
 * kubectl 1.32 validating manifests against the Kubernetes stand-in, with validation on as by default: it reads
 * the served OpenAPI documents, sends `fieldValidation=Strict`, and the stand-in refuses unknown and mistyped
 * fields with the API server's messages; `--validate=warn` and `--validate=false` drop them. `kubectl explain`
 * reads the served schemas.
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

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

const service = (name: string, specExtra = '', port = '80') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  selector:
    app: ${name}
  ports:
  - name: http
    port: ${port}
${specExtra}`;

const serviceExport = (name: string, extra = '') => `apiVersion: net.gke.io/v1
kind: ServiceExport
metadata:
  name: ${name}
  namespace: default
${extra}`;

const available = existsSync(KUBECTL);
const title = available
  ? 'kubectl validation against the kube stand-in'
  : `kubectl validation against the kube stand-in (SKIPPED: ${KUBECTL} is missing)`;

(available ? describe : describe.skip)(title, function () {
  this.timeout(20000);
  let server: KubeServer;
  let dir: string;

  /** kubectl's stdout and stderr, whether it succeeded or not. */
  async function kubectl(...args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(
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
      return { ok: true, stdout, stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  async function apply(name: string, manifest: string, ...flags: string[]) {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, manifest);
    return { file, ...(await kubectl('apply', ...flags, '-f', file)) };
  }

  function stored(resource: string, name: string): Record<string, unknown> | undefined {
    return server.api.store.get(resource, 'default', name) as unknown as Record<string, unknown> | undefined;
  }

  function specOf(name: string): Record<string, unknown> {
    const spec = stored('services', name)?.spec;
    assert.ok(spec, `service ${name} is stored`);
    return spec as Record<string, unknown>;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-validation-'));
    server = await startKubeServer({
      cluster: { project: 'spoke-project', location: 'us-east4', name: 'gke-us-east4-cluster-1' },
      faults: new FaultInjector(),
      audit: new MemorySink(),
      principalFor: () => 'bob@example.com',
    });
    writeFileSync(
      join(dir, 'kubeconfig'),
      kubeconfigYaml([
        { name: 'cluster-1', server: server.url, caCertificate: server.caCertificate, token: 't' },
      ]),
    );
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a valid Service and a valid ServiceExport apply with validation on', async () => {
    const svc = await apply('web', service('web'));
    assert.ok(svc.ok, svc.stderr);
    assert.match(svc.stdout, /service\/web created/);
    const exported = await apply('web-export', serviceExport('web'));
    assert.ok(exported.ok, exported.stderr);
    assert.match(exported.stdout, /serviceexport.net.gke.io\/web created/);
  });

  it('an unknown field in a new Service is refused by strict decoding (400), nothing is created', async () => {
    const { ok, file, stderr } = await apply(
      'typo-field',
      service('typo-field', '  selektor:\n    app: x\n'),
    );
    assert.equal(ok, false);
    assert.equal(
      stderr.trim(),
      `Error from server (BadRequest): error when creating "${file}": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.selektor"`,
    );
    assert.equal(stored('services', 'typo-field'), undefined);
  });

  it('unknown fields are all named, in the order of the body kubectl sends (keys sorted), with list indices', async () => {
    const { stderr } = await apply('two-fields', service('two-fields', '    targetPortt: 8080\n  foo: 1\n'));
    assert.match(
      stderr,
      /strict decoding error: unknown field "spec\.foo", unknown field "spec\.ports\[0\]\.targetPortt"$/m,
    );
  });

  it("a mistyped value is refused with the decoder's type error", async () => {
    const { ok, file, stderr } = await apply('string-port', service('string-port', '', 'eighty'));
    assert.equal(ok, false);
    assert.equal(
      stderr.trim(),
      `Error from server (BadRequest): error when creating "${file}": Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32`,
    );
  });

  it('re-applying with an unknown field: the patch is refused (422 on patch), the Service unchanged', async () => {
    const before = stored('services', 'web');
    const { ok, stderr } = await apply('web', service('web', '  foo: bar\n'));
    assert.equal(ok, false);
    assert.match(
      stderr,
      /^The request is invalid: patch: Invalid value: "map\[metadata:map\[annotations:.*\] spec:map\[foo:bar\]\]": strict decoding error: unknown field "spec\.foo"$/m,
    );
    assert.deepEqual(stored('services', 'web'), before);
  });

  it('--validate=warn creates with a warning and drops the field; --validate=false drops it silently', async () => {
    const warned = await apply('warned', service('warned', '  foo: bar\n'), '--validate=warn');
    assert.ok(warned.ok, warned.stderr);
    assert.match(warned.stderr, /^Warning: unknown field "spec\.foo"$/m);
    assert.equal(specOf('warned').foo, undefined);

    const ignored = await apply('ignored', service('ignored', '  foo: bar\n'), '--validate=false');
    assert.ok(ignored.ok, ignored.stderr);
    assert.doesNotMatch(ignored.stderr, /unknown field/);
    assert.equal(specOf('ignored').foo, undefined);
  });

  it("a ServiceExport with a spec (GKE's schema has none) is refused", async () => {
    const { ok, file, stderr } = await apply(
      'export-spec',
      serviceExport('export-spec', 'spec:\n  ports: []\n'),
    );
    assert.equal(ok, false);
    assert.equal(
      stderr.trim(),
      `Error from server (BadRequest): error when creating "${file}": ServiceExport in version "v1" cannot be handled as a ServiceExport: strict decoding error: unknown field "spec"`,
    );
    assert.equal(stored('serviceexports', 'export-spec'), undefined);
  });

  it("explain reads the served schemas: Service fields and GKE's ServiceExport conditions", async () => {
    const port = await kubectl('explain', 'service.spec.ports.port');
    assert.ok(port.ok, port.stderr);
    assert.match(port.stdout, /FIELD: port <integer>/);
    assert.match(port.stdout, /The port that will be exposed by this service\./);
    const conditions = await kubectl('explain', 'serviceexport.status.conditions');
    assert.ok(conditions.ok, conditions.stderr);
    assert.match(conditions.stdout, /GROUP:\s+net\.gke\.io/);
    assert.match(conditions.stdout, /lastTransitionTime\s+<string>/);
    assert.match(conditions.stdout, /reason\s+<string>/);
  });
});
